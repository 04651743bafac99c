import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type BrowserContextOptions, type Page } from "@playwright/test";
import { gatehouse, newEmail, PASSWORD, register, signIn } from "./helpers";

// The security dashboard on /admin: real events in the charts, the event
// log's GET filter, WCAG 2.1 A/AA in light and dark, on a phone, and as the
// server renders it without the app's JavaScript.

const adminEmail = newEmail("dash-admin");
const memberEmail = newEmail("dash-member");

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await register(page, adminEmail);
  expect(gatehouse("admin", "grant", adminEmail)).toContain("is now an administrator");
  await register(await (await browser.newContext()).newPage(), memberEmail);
  await signIn(await (await browser.newContext()).newPage(), memberEmail);
  // A wrong password, from a client of its own.
  const stranger = await browser.newContext();
  const wrong = await stranger.request.post("/api/login", {
    form: { email: memberEmail, password: "wrong guess here" },
    headers: { Accept: "application/json" },
  });
  expect(wrong.status()).toBe(401);
  await stranger.close();
});

async function adminPage(browser: Browser, options: BrowserContextOptions = {}, scripts = true): Promise<Page> {
  const page = await (await browser.newContext(options)).newPage();
  if (!scripts) await page.route(/\/pkg\/.*\.(js|wasm)$/, (route) => route.abort());
  await signIn(page, adminEmail, PASSWORD);
  return page;
}

/** Every bar of a chart has a positive height, and at least one is drawn.
 *  (Read through locators, which work with the page's JavaScript off.) */
async function expectBars(page: Page, chart: string): Promise<void> {
  const bars = page.getByTestId(chart).locator("rect.bar");
  await expect(bars.first()).toBeVisible();
  const count = await bars.count();
  expect(count).toBeGreaterThan(0);
  for (let i = 0; i < count; i++) {
    expect(Number(await bars.nth(i).getAttribute("height"))).toBeGreaterThan(0);
    expect((await bars.nth(i).boundingBox())!.height).toBeGreaterThan(0);
  }
}

async function expectAccessible(page: Page, label: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`);
  expect(found, label).toEqual([]);
}

test("the dashboard charts real events and passes WCAG checks in light and dark", async ({ browser }, testInfo) => {
  for (const colorScheme of ["light", "dark"] as const) {
    const page = await adminPage(browser, { colorScheme });
    await page.goto("/admin");
    const dashboard = page.getByTestId("dashboard");
    await expect(dashboard.getByRole("heading", { name: "Security dashboard" })).toBeVisible();
    // The failed sign-in is logged just after its answer: look again until
    // it is counted (other tests' accounts may be guessed at too).
    await expect(async () => {
      await page.goto("/admin");
      await expect(page.getByTestId("guessed-accounts")).toContainText(memberEmail, { timeout: 500 });
    }).toPass({ timeout: 15_000 });
    await expect(page.getByTestId("chart-hourly-sign-ins").locator("rect.bar-failed").first()).toBeVisible();
    for (const chart of ["chart-hourly-sign-ins", "chart-hourly-sign-ups", "chart-daily-sign-ins", "chart-daily-sign-ups"]) {
      await expectBars(page, chart);
    }
    const svg = page.getByTestId("chart-hourly-sign-ins").locator("svg");
    await expect(svg).toHaveAttribute("role", "img");
    await expect(svg).toHaveAttribute("aria-label", /Sign-ins per hour over the last 24 hours \(UTC\): \d+ succeeded, [1-9]\d* failed, \d+ throttled/);
    // The numbers behind the charts, in a disclosure.
    await page.getByText("Table: events per hour over the last 24 hours (UTC)").click();
    await expect(page.getByRole("table", { name: "Events per hour over the last 24 hours (UTC)" })).toBeVisible();
    // Bars take their colour from the scheme.
    const fill = await page
      .getByTestId("chart-hourly-sign-ins")
      .locator("rect.bar-ok")
      .first()
      .evaluate((r) => getComputedStyle(r).fill);
    expect(fill).toBe(colorScheme === "dark" ? "rgb(122, 162, 255)" : "rgb(36, 86, 214)");
    await page.screenshot({ path: testInfo.outputPath(`dashboard-${colorScheme}.png`), fullPage: true });
    await expectAccessible(page, `/admin (${colorScheme})`);
    await page.context().close();
  }
});

test("the dashboard fits a phone", async ({ browser }, testInfo) => {
  const page = await adminPage(browser, { viewport: { width: 375, height: 740 } });
  await page.goto("/admin");
  await expectBars(page, "chart-daily-sign-ins");
  const box = await page.getByTestId("chart-daily-sign-ins").locator("svg").boundingBox();
  expect(box!.width).toBeLessThanOrEqual(375);
  // Nothing in the dashboard is wider than the phone: wide tables scroll
  // inside their own box.
  const overflow = await page.getByTestId("dashboard").evaluate((el) => el.scrollWidth - el.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  const section = (await page.getByTestId("dashboard").boundingBox())!;
  expect(section.x + section.width).toBeLessThanOrEqual(375);
  await page.screenshot({ path: testInfo.outputPath("dashboard-phone.png"), fullPage: true });
  await page.context().close();
});

test("without JavaScript the server renders the dashboard and the filter is a GET form", async ({ browser }) => {
  const page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await signIn(page, adminEmail, PASSWORD);
  await page.goto("/admin");
  await expectBars(page, "chart-hourly-sign-ups");
  await page.getByLabel("Kind").selectOption({ label: "Failed sign-in" });
  await page.getByLabel("Account email contains").fill(memberEmail.split("@")[0].toUpperCase());
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/event_kind=sign_in_failed/);
  const events = page.getByTestId("admin-event");
  await expect(events).toHaveCount(1);
  await expect(events.first()).toHaveAttribute("data-kind", "sign_in_failed");
  await expect(events.first()).toContainText(memberEmail);
  await page.context().close();

  // axe runs in the page, so here only the app's own scripts are held back.
  for (const colorScheme of ["light", "dark"] as const) {
    const served = await adminPage(browser, { colorScheme }, false);
    await served.goto("/admin");
    await expectBars(served, "chart-daily-sign-ups");
    await expectAccessible(served, `/admin as served (${colorScheme})`);
    await served.context().close();
  }
});
