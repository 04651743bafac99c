// The development server (scripts/dev) in Chromium: /login hydrates with no
// error; after a change to a Rust file the open page reloads by itself
// (cargo-leptos's live-reload socket, leptos's <AutoReload>) and hydrates
// again with no error. Prints how long each step took.
// Usage: node dev/watch-check.mjs <base-url> <file-to-change> <seconds>
// Run by scripts/check-watch, which starts the server and puts the file back.
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "@playwright/test";

const [base, changedFile, budget] = process.argv.slice(2);
if (!base || !changedFile) {
  console.error("usage: node dev/watch-check.mjs <base-url> <file-to-change> [seconds]");
  process.exit(2);
}
const deadline = Date.now() + Number(budget ?? 600) * 1000;
const timeLeft = () => Math.max(1_000, deadline - Date.now());
// A debug build hydrates in seconds; a minute means it never will.
const hydrationTimeout = () => Math.min(timeLeft(), 60_000);
const since = (start) => `${((Date.now() - start) / 1000).toFixed(1)} s`;
const say = (message) => console.log(`watch-check: ${message}`);

const browser = await chromium.launch({
  // Debian's Chromium and the flags of playwright.config.ts.
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  const context = await browser.newContext();
  // The reload goes only to pages connected to the live-reload socket:
  // note when it opens.
  await context.addInitScript(() => {
    const NativeWebSocket = window.WebSocket;
    window.WebSocket = class extends NativeWebSocket {
      constructor(...args) {
        super(...args);
        if (String(args[0]).endsWith("/live_reload")) {
          this.addEventListener("open", () => {
            window.__liveReloadOpen = true;
          });
        }
      }
    };
  });
  const page = await context.newPage();
  // Any error fails the check, at once: a page that cannot load its wasm
  // says so in the console long before a hydration wait would run out.
  const errors = [];
  let errorSeen;
  const firstError = new Promise((resolve) => {
    errorSeen = resolve;
  });
  const record = (message) => {
    errors.push(message);
    errorSeen();
  };
  page.on("pageerror", (error) => record(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") record(`console error: ${message.text()}`);
  });
  const failOnError = async (when, waiting) => {
    const outcome = await Promise.race([
      waiting.then(() => "done"),
      firstError.then(() => "error"),
    ]);
    if (outcome === "error") throw new Error(`${when}:\n  ${errors.join("\n  ")}`);
  };
  const hydrated = (when) =>
    failOnError(
      when,
      page
        .locator("html[data-hydrated]")
        .waitFor({ state: "attached", timeout: hydrationTimeout() })
        .catch(() => {
          throw new Error(`${when}: not hydrated, with no error in the console`);
        }),
    );

  let start = Date.now();
  await failOnError("opening /login", page.goto(`${base}/login`, { timeout: timeLeft() }));
  await hydrated("/login");
  say(`/login hydrated ${since(start)} after it was opened`);

  await page
    .waitForFunction(() => window.__liveReloadOpen === true, null, { timeout: 30_000 })
    .catch(() => {
      throw new Error("the page never connected to the live-reload socket");
    });
  // A mark that lives as long as this document does.
  await page.evaluate(() => {
    window.__beforeTheChange = true;
  });
  const reloaded = page.waitForEvent("load", { timeout: timeLeft() }).catch(() => {
    throw new Error(`the page did not reload within ${since(start)} of the change`);
  });
  // A comment line at the top moves every line below it, so what is built
  // from the file changes (its debug line table) and the watch serves it
  // anew; a comment at the end would change nothing built, and the watch
  // would rightly not reload.
  const source = readFileSync(changedFile, "utf8");
  writeFileSync(changedFile, `// check-watch: a change to rebuild on (taken out again)\n${source}`);
  start = Date.now();
  say(`changed ${changedFile}; waiting for the rebuild and the reload`);
  await failOnError("waiting for the reload", reloaded);
  if (await page.evaluate(() => window.__beforeTheChange === true)) {
    throw new Error("a load event, but the document is still the old one");
  }
  say(`the page reloaded by itself ${since(start)} after the change`);
  const reloadedAt = Date.now();
  await hydrated("/login after the reload");
  say(`and hydrated again ${since(reloadedAt)} later, with no error`);
} catch (error) {
  console.error(`watch-check: FAILED: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
