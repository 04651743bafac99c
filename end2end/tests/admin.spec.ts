import { expect, test } from "@playwright/test";
import { clickWhileSignedOutElsewhere, gatehouse, newEmail, register } from "./helpers";

test("an admin disables a signed-in user, whose next click lands on the sign-in page", async ({ browser }) => {
  const adminEmail = newEmail("admin");
  const userEmail = newEmail("member");
  const adminContext = await browser.newContext();
  const userContext = await browser.newContext();
  const admin = await adminContext.newPage();
  const user = await userContext.newPage();
  await register(admin, adminEmail);
  expect(gatehouse("admin", "grant", adminEmail)).toContain("is now an administrator");
  await register(user, userEmail);

  await admin.goto(`/admin?query=${encodeURIComponent(userEmail)}`);
  const row = admin.getByTestId("admin-user").filter({ hasText: userEmail });
  await expect(row).toContainText("1 active session(s)");
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(admin.getByTestId("admin-user").filter({ hasText: userEmail })).toContainText("disabled");

  await clickWhileSignedOutElsewhere(user, user.getByRole("link", { name: "Devices", exact: true }));
  await expect(user).toHaveURL(/\/login/);
  await expect(user.getByTestId("form-error")).toHaveText("This account has been disabled. Contact an administrator.");
  await adminContext.close();
  await userContext.close();
});

test("a non-admin sees no console", async ({ page }) => {
  const email = newEmail("plain");
  await register(page, email);
  await page.goto("/admin");
  await expect(page.getByRole("alert")).toHaveText("Only administrators can do that.");
});
