import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { hydrated, newEmail, register } from "./helpers";

const PUBLIC_PAGES = [
  "/",
  "/login",
  "/register",
  "/forgot-password",
  "/forgot-password?sent=1",
  "/reset-password?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "/verify-email?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "/confirm-email?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "/not-me?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "/dev/outbox",
];
const SIGNED_IN_PAGES = ["/", "/sessions", "/security"];

async function expectAccessible(page: Page, path: string): Promise<void> {
  await page.goto(path);
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`);
  expect(found, `${path}`).toEqual([]);
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? "hydrated" : "without JavaScript";

  test(`public pages pass WCAG 2.1 A/AA checks (${mode})`, async ({ browser }) => {
    const page = await (await browser.newContext({ javaScriptEnabled })).newPage();
    for (const path of PUBLIC_PAGES) {
      await expectAccessible(page, path);
      if (javaScriptEnabled) await hydrated(page);
    }
  });

  test(`signed-in pages pass WCAG 2.1 A/AA checks (${mode})`, async ({ browser }) => {
    const page = await (await browser.newContext({ javaScriptEnabled })).newPage();
    await register(page, newEmail("a11y"));
    for (const path of SIGNED_IN_PAGES) {
      await expectAccessible(page, path);
    }
  });
}
