import { execFileSync } from "node:child_process";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { expect, test } from "@playwright/test";
import { clickWhileSignedOutElsewhere, newEmail, register } from "./helpers";

/** Runs the gatehouse command line against the test server's database. */
function gatehouse(...args: string[]): string {
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/gatehouse/target");
  const data = resolve(__dirname, "../test-data");
  return execFileSync(join(target, "debug/gatehouse"), args, {
    env: { ...process.env, DATABASE_URL: `sqlite://${data}/e2e.db`, GATEHOUSE_DATA_DIR: data, RUST_LOG: "warn" },
    encoding: "utf8",
  });
}

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
