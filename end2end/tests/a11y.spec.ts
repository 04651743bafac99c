import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { hydrated, newEmail, register } from "./helpers";

const PUBLIC_PAGES = [
  "/",
  "/login",
  "/login/code",
  "/register",
  "/forgot-password",
  "/forgot-password?sent=1",
  "/reset-password?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "/verify-email?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "/confirm-email?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "/not-me?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "/dev/outbox",
];
// The last: the security page asking for a recent sign-in first (as a
// form post without JavaScript comes back, e.g. from "Download my data").
const SIGNED_IN_PAGES = ["/", "/sessions", "/security", "/security?error=reauth_required"];

async function expectAccessible(page: Page, path: string): Promise<void> {
  await page.goto(path);
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`);
  expect(found, `${path}`).toEqual([]);
}

/** A page that stays as the server rendered it: the app's scripts never
 *  load (axe itself needs JavaScript in the page, so it is not switched off). */
async function serverRendered(browser: Browser): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.route(/\/pkg\/.*\.(js|wasm)$/, (route) => route.abort());
  return page;
}

for (const hydrate of [true, false]) {
  const mode = hydrate ? "hydrated" : "as served, without the app's JavaScript";
  const open = async (browser: Browser) =>
    hydrate ? (await browser.newContext()).newPage() : serverRendered(browser);

  test(`public pages pass WCAG 2.1 A/AA checks (${mode})`, async ({ browser }) => {
    const page = await open(browser);
    for (const path of PUBLIC_PAGES) {
      await expectAccessible(page, path);
      if (hydrate) await hydrated(page);
    }
  });

  test(`signed-in pages pass WCAG 2.1 A/AA checks (${mode})`, async ({ browser }) => {
    const page = await open(browser);
    await register(page, newEmail("a11y"));
    for (const path of SIGNED_IN_PAGES) {
      await expectAccessible(page, path);
    }
  });
}
