import { expect, test, type Page } from "@playwright/test";
import { followMailedLink, hydrated, newEmail, register } from "./helpers";

const NEW_PASSWORD = "amber tide carries seven paper boats";

async function resetFromTheOutbox(page: Page, email: string): Promise<void> {
  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send me a link" }).click();
  await expect(page.getByTestId("reset-sent")).toBeVisible();

  await followMailedLink(page, email, "Reset your password");
  await expect(page).toHaveURL(/\/reset-password\?token=[A-Za-z0-9_-]{43}$/);
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(page.getByTestId("whoami")).toContainText(email);
}

test("a forgotten password is reset from the outbox", async ({ browser }) => {
  const email = newEmail("forgot");
  const owner = await browser.newContext();
  await register(await owner.newPage(), email);

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/login");
  await hydrated(page);
  await resetFromTheOutbox(page, email);
  // The other browser was signed out by the reset.
  const old = await owner.newPage();
  await old.goto("/sessions");
  await expect(old).toHaveURL(/\/login/);
  // The new password signs in.
  const later = await (await browser.newContext()).newPage();
  await later.goto("/login");
  await later.getByLabel("Email").fill(email);
  await later.getByLabel("Password").fill(NEW_PASSWORD);
  await later.getByRole("button", { name: "Sign in" }).click();
  await expect(later.getByTestId("whoami")).toContainText(email);
});

test("a forgotten password is reset without JavaScript", async ({ browser }) => {
  const email = newEmail("forgot-nojs");
  await register(await (await browser.newContext()).newPage(), email);
  const context = await browser.newContext({ javaScriptEnabled: false });
  await resetFromTheOutbox(await context.newPage(), email);
});

test("the address is confirmed from the mailed link, and the banner goes", async ({ page }) => {
  const email = newEmail("verify");
  await register(page, email);
  await expect(page.getByTestId("verify-banner")).toBeVisible();
  await followMailedLink(page, email, "Confirm your email address");
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page.getByTestId("link-done")).toContainText("confirmed");
  await page.goto("/");
  await expect(page.getByTestId("whoami")).toContainText(email);
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);
});

test("the browser's favicon request finds the icon", async ({ request }) => {
  const icon = await request.get("/favicon.ico");
  expect(icon.status()).toBe(200);
  expect(icon.headers()["content-type"]).toContain("image/");
});
