import { expect, test } from "@playwright/test";
import { anHourLater, hydrated, newEmail, PASSWORD, register, signIn } from "./helpers";

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
