import { expect, test } from "@playwright/test";
import { hydrated, newEmail, PASSWORD } from "./helpers";

test("the page hydrates and a server function round-trips", async ({ page }) => {
  const email = newEmail("hydrate");
  await page.goto("/register");
  await hydrated(page);

  // Hydrated, the form submits in the background: the server function answers
  // JSON, and the page itself does not post.
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/register")),
    page.getByRole("button", { name: "Create account" }).click(),
  ]);
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toContain("application/json");
  // Sent by the wasm with fetch, not by the browser as a form navigation.
  expect(response.request().resourceType()).toBe("fetch");
  await expect(page.getByTestId("whoami")).toContainText(email);

  // Only the wasm can open this confirm step: it is a click handler.
  await page.goto("/security");
  await hydrated(page);
  await expect(page.getByText("This cannot be undone.")).toHaveCount(0);
  await page.getByRole("button", { name: "Delete my account…" }).click();
  await expect(page.getByText("This cannot be undone.")).toBeVisible();
});

test("security headers and a strict CSP are on every page", async ({ page }) => {
  const response = await page.goto("/login");
  const csp = response!.headers()["content-security-policy"];
  expect(csp).toMatch(/script-src 'nonce-[^']+' 'strict-dynamic' 'wasm-unsafe-eval'/);
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(response!.headers()["x-content-type-options"]).toBe("nosniff");
  // The page still hydrates under that policy.
  await hydrated(page);
});

test("assets have hashed names and are cached for good", async ({ page }) => {
  const assets: { url: string; cacheControl: string }[] = [];
  page.on("response", (r) => {
    if (/\/pkg\/.*\.(js|wasm|css)$/.test(new URL(r.url()).pathname)) {
      assets.push({ url: r.url(), cacheControl: r.headers()["cache-control"] ?? "" });
    }
  });
  await page.goto("/login");
  await hydrated(page);
  // The app's stylesheet, script and wasm (and the loader of the wasm
  // pieces that other pages are split into).
  const app = assets.filter((a) => /\/pkg\/gatehouse\./.test(a.url));
  expect(app.map((a) => a.url.split(".").pop()).sort()).toEqual(["css", "js", "wasm"]);
  for (const asset of assets) {
    // A content hash between the name and the extension.
    expect(asset.url).toMatch(/\/pkg\/[A-Za-z0-9_]+\.[A-Za-z0-9_-]{10,}\.(js|wasm|css)$/);
    expect(asset.cacheControl).toBe("public, max-age=31536000, immutable");
  }
  // The page itself is never cached as it is.
  const page2 = await page.request.get("/login");
  expect(page2.headers()["cache-control"] ?? "").not.toContain("immutable");
});
