import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { hydrated, newEmail, registerVerified, PASSWORD } from "./helpers";

// "Continue with Test ID": the real oidc-provider Playwright starts
// (playwright.config.ts), its scripted login form filled in Chromium.

async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`);
  expect(found, page.url()).toEqual([]);
}

/** A page with the app's JavaScript, or as served without it (the app's
 *  scripts never load; axe itself still runs in the page). */
async function open(browser: Browser, hydrate: boolean): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  if (!hydrate) await page.route(/\/pkg\/.*\.(js|wasm)$/, (route) => route.abort());
  return page;
}

/** Fills the provider's login form as `sub` with a verified `email`. */
async function atProvider(page: Page, sub: string, email: string): Promise<void> {
  await expect(page).toHaveURL(/\/interaction\//);
  await page.locator("#sub").fill(sub);
  await page.locator("#email").fill(email);
  await page.locator("#email_verified").check();
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The login page's button (a plain link), once the provider is loaded. */
async function continueWith(page: Page): Promise<void> {
  const button = page.getByRole("link", { name: "Continue with Test ID" });
  await expect(async () => {
    await page.goto("/login");
    await expect(button).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 30_000 });
  await button.click();
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? "hydrated" : "without the app's JavaScript";

  test(`a first sign-in with a provider opens an account (${mode})`, async ({ browser }) => {
    const page = await open(browser, javaScriptEnabled);
    const email = newEmail("oidc-first");
    await page.goto("/login");
    if (javaScriptEnabled) await hydrated(page);
    await expectAccessible(page);
    await continueWith(page);
    await atProvider(page, `first-${email}`, email);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByTestId("whoami")).toContainText(email);

    await page.goto("/sessions");
    await expect(page.getByTestId("method").first()).toContainText("Test ID");
    await page.goto("/security");
    if (javaScriptEnabled) await hydrated(page);
    await expect(page.getByRole("heading", { name: "Set a password" })).toBeVisible();
    const linked = page.getByTestId("linked-providers");
    await expect(linked).toContainText("Test ID");
    await expect(linked).toContainText(email);
    await expectAccessible(page);

    // The last way in cannot go.
    await linked.getByRole("button", { name: "Unlink Test ID" }).click();
    await expect(page.getByText("only way left to sign in")).toBeVisible();
  });

  test(`an existing account signs in first, then the provider is linked (${mode})`, async ({ browser }) => {
    const email = newEmail("oidc-link");
    // The account, made with its address proved (with JavaScript).
    const setup = await (await browser.newContext()).newPage();
    await registerVerified(setup, email);
    await setup.context().close();

    const page = await open(browser, javaScriptEnabled);
    await continueWith(page);
    await atProvider(page, `link-${email}`, email);
    await expect(page).toHaveURL(/\/login\?link=testid/);
    await expect(page.getByRole("alert")).toContainText("already exists");
    await expectAccessible(page);
    if (javaScriptEnabled) await hydrated(page);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    // Back through the provider (it remembers the person) to the security page.
    if (!javaScriptEnabled) {
      // A form's redirect may not leave the origin (CSP form-action): the
      // security page offers the link as a plain one.
      await expect(page).toHaveURL(/\/security\?link=testid/);
      await page.getByRole("link", { name: "Link Test ID" }).click();
    }
    await expect(page).toHaveURL(/\/security\?linked=1/);
    await expect(page.getByTestId("linked-providers")).toContainText("Test ID");
    await expect(page.getByRole("heading", { name: "Change password" })).toBeVisible();
  });
}

test("a cancelled sign-in at the provider says so and changes nothing", async ({ page }) => {
  await continueWith(page);
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page).toHaveURL(/\/login\?error=oidc_failed/);
  await expect(page.getByRole("alert")).toContainText("Nothing was changed");
  const cookies = await page.context().cookies();
  expect(cookies.map((c) => c.name).filter((n) => n.includes("gh_access") || n.includes("gh_refresh"))).toEqual([]);
});
