import { execFileSync } from "node:child_process";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { hydrated, newEmail, PASSWORD, register, signIn } from "./helpers";

/** Moves the account's sign-ins an hour into the past, in the server's
 *  own database (the clock the recent-sign-in rule reads). */
function anHourLater(email: string): void {
  const data = process.env.E2E_DATA_DIR ?? path.join(__dirname, "..", "test-data");
  execFileSync("sqlite3", [
    path.join(data, "e2e.db"),
    `UPDATE sessions SET created_at = created_at - 3600000, proved_at = proved_at - 3600000 ` +
      `WHERE user_id = (SELECT id FROM users WHERE email = '${email}')`,
  ]);
}

test("a sensitive action asks for the password again, then carries on", async ({ browser }) => {
  const email = newEmail("reauth");
  const here = await (await browser.newContext()).newPage();
  await register(here, email);
  await signIn(await (await browser.newContext()).newPage(), email);
  anHourLater(email);

  await here.goto("/sessions");
  await hydrated(here);
  await here.getByRole("link", { name: "Sign out all other devices" }).click();
  await here.getByRole("button", { name: "Yes, sign them out" }).click();
  const prompt = here.getByTestId("reauth");
  await expect(prompt).toBeVisible();
  await prompt.getByLabel("Password").fill(PASSWORD);
  await prompt.getByRole("button", { name: "Confirm it's me" }).click();
  await expect(here.getByTestId("form-error").first()).toContainText("Signed out 1 other device(s).");
  await expect(here.getByTestId("session")).toHaveCount(1);
  await expect(here.getByTestId("method")).toHaveText("Password");
});
