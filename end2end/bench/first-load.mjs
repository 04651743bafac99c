// First load of /login in Chromium, with an empty cache each time: bytes on
// the wire for the wasm, JS and CSS, and the time until the page is
// hydrated (the app marks <html data-hydrated>). Beside it, interleaved in
// the same run, the browser's floor: a cold load of a static 80-byte page
// with no script, from a loopback server, until it is parsed
// (domInteractive); what gatehouse adds is the difference. Prints a
// Markdown row per figure.
// Usage: node bench/first-load.mjs http://127.0.0.1:3000 [runs]
import { chromium } from "@playwright/test";
import { createServer } from "node:http";

// The floor: 80 bytes of HTML, no script, no style.
const floorPage = '<!DOCTYPE html><html lang="en"><title>floor</title><p>A page with no script.</p>';
const floorServer = createServer((_, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(floorPage) });
  res.end(floorPage);
});
await new Promise((resolve) => floorServer.listen(0, "127.0.0.1", resolve));
const floorUrl = `http://127.0.0.1:${floorServer.address().port}/`;

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const runs = Number(process.argv[3] ?? 15);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
});
const times = [];
const floors = [];
const phases = {};
let assetBytes = 0;
for (let i = 0; i < runs; i++) {
  {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(floorUrl);
    floors.push(await page.evaluate(() => performance.getEntriesByType("navigation")[0].domInteractive));
    await context.close();
  }
  const context = await browser.newContext();
  // The moment the app marks the page hydrated, by the page's own clock
  // (navigation start is 0), not when the test notices.
  await context.addInitScript(() => {
    // When the wasm module is compiled and instantiated (before hydration).
    const instantiate = WebAssembly.instantiateStreaming;
    WebAssembly.instantiateStreaming = async (...args) => {
      const result = await instantiate(...args);
      window.__instantiatedAt = performance.now();
      return result;
    };
    new MutationObserver((_, observer) => {
      if (document.documentElement?.hasAttribute("data-hydrated")) {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-hydrated"] });
  });
  const page = await context.newPage();
  const assets = [];
  page.on("requestfinished", async (request) => {
    if (/\.(wasm|js|css)$/.test(new URL(request.url()).pathname)) {
      assets.push(request.sizes());
    }
  });
  await page.goto(`${base}/login`);
  await page.waitForSelector("html[data-hydrated]");
  const t = await page.evaluate(() => {
    const byType = (re) => performance.getEntriesByType("resource").find((e) => re.test(e.name));
    const nav = performance.getEntriesByType("navigation")[0];
    return {
      html: nav.responseEnd,
      parsed: nav.domInteractive,
      js: byType(/\.js$/)?.responseEnd,
      wasm: byType(/\.wasm$/)?.responseEnd,
      instantiated: window.__instantiatedAt,
      hydrated: window.__hydratedAt,
    };
  });
  times.push(t.hydrated);
  for (const [k, v] of Object.entries(t)) (phases[k] ??= []).push(v ?? NaN);
  // Let the size callbacks settle.
  const sizes = await Promise.all(assets);
  assetBytes = sizes.reduce((sum, s) => sum + s.responseBodySize + s.responseHeadersSize, 0);
  await context.close();
}
await browser.close();
floorServer.close();
const medianOf = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const median = medianOf(times);
const floor = medianOf(floors);
const over = medianOf(times.map((t, i) => t - floors[i]));
console.log(`| first load of /login in Chromium: wasm + JS + CSS on the wire | ${(assetBytes / 1024).toFixed(0)} KB |`);
console.log(`| first load of /login in Chromium: hydrated, median of ${runs} | ${median.toFixed(0)} ms |`);
console.log(`| the floor: a static 80-byte page parsed (domInteractive), median of ${runs}, interleaved | ${floor.toFixed(0)} ms |`);
console.log(`| what gatehouse adds: hydrated less the floor, median of the ${runs} pairs | ${over.toFixed(0)} ms |`);
// Where the time goes: the median moment (page clock) each step ended.
const steps = Object.entries(phases).map(([k, xs]) => `${k} ${medianOf(xs).toFixed(0)}`);
console.log(`| first load of /login: median end of each step (ms) | ${steps.join(", ")} |`);
