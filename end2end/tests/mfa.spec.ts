import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { hydrated, newEmail, PASSWORD, registerVerified } from "./helpers";
import { totp } from "./totp";

/** Turns on an authenticator app from the security page; its secret and
 *  the recovery codes shown once. */
async function setUpAuthenticator(page: Page): Promise<{ secret: string; codes: string[] }> {
  await page.goto("/security");
  await hydrated(page);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const enroll = page.getByTestId("totp-enroll");
  await expect(enroll.locator(".qr svg")).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").textContent()) ?? "";
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await enroll.getByLabel("Code", { exact: true }).fill("000000");
  await enroll.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByTestId("two-step").getByRole("alert")).toContainText("That code is not right");
  await enroll.getByLabel("Code", { exact: true }).fill(totp(secret));
  await enroll.getByRole("button", { name: "Turn on" }).click();
  const shown = page.getByTestId("recovery-codes");
  await expect(shown.locator("li")).toHaveCount(10);
  const codes = await shown.locator("li").allTextContents();
  await expect(page.getByTestId("totp-on")).toContainText("Recovery codes left: 10.");
  return { secret, codes };
}

async function passwordStep(page: Page, email: string): Promise<void> {
  await page.goto("/login?next=%2Fsessions");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login\/code\?next=%2Fsessions$/);
}

test("an authenticator app is set up, then asked for at sign-in", async ({ browser }) => {
  const email = newEmail("totp");
  const owner = await (await browser.newContext()).newPage();
  await registerVerified(owner, email);
  const { secret } = await setUpAuthenticator(owner);
  const axe = await new AxeBuilder({ page: owner })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  expect(axe.violations.map((v) => v.id)).toEqual([]);

  const page = await (await browser.newContext()).newPage();
  await passwordStep(page, email);
  await hydrated(page);
  // The next step's code: this step's was spent turning the app on.
  await page.getByLabel("Code", { exact: true }).fill(totp(secret, 1));
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByTestId("method").first()).toHaveText("Password and authenticator app");
});

test("without JavaScript the second step is its own page, and a recovery code works", async ({ browser }) => {
  const email = newEmail("totp-nojs");
  const owner = await (await browser.newContext()).newPage();
  await registerVerified(owner, email);
  const { codes } = await setUpAuthenticator(owner);

  const page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await passwordStep(page, email);
  await page.getByLabel("Code", { exact: true }).fill("not-a-code");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("alert")).toContainText("That code is not right");
  await page.getByLabel("Code", { exact: true }).fill(codes[0]);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByTestId("method").first()).toHaveText("Password and recovery code");
});
