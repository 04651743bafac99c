import { expect, test, type Page } from "@playwright/test";
import { readFile } from "node:fs/promises";
import { anHourLater, hydrated, newEmail, PASSWORD, register } from "./helpers";

/** Presses "Download my data" and reads the file the browser saved. */
async function download(page: Page): Promise<Record<string, any>> {
  const saved = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download my data" }).click();
  const file = await saved;
  expect(file.suggestedFilename()).toBe("gatehouse-data.json");
  return JSON.parse(await readFile(await file.path(), "utf8"));
}

for (const javascript of [true, false]) {
  const mode = javascript ? "hydrated" : "without JavaScript";

  test(`"Download my data" saves the account's data, after a recent sign-in (${mode})`, async ({ browser }) => {
    const email = newEmail("data");
    const page = await (await browser.newContext({ javaScriptEnabled: javascript })).newPage();
    await register(page, email);
    await page.goto("/security");
    if (javascript) await hydrated(page);
    const data = await download(page);
    expect(data.account.email).toBe(email);
    expect(data.linked_providers).toEqual([]);
    await expect(page).toHaveURL(/\/security$/);

    // An hour later the same button first asks who it is.
    anHourLater(email);
    await page.getByRole("button", { name: "Download my data" }).click();
    await expect(page).toHaveURL(/\/security\?error=reauth_required$/);
    if (javascript) await hydrated(page);
    const section = page.getByTestId("your-data");
    await section.getByLabel("Password").fill(PASSWORD);
    await section.getByRole("button", { name: "Confirm it's me" }).click();
    if (javascript) {
      await expect(section.getByTestId("form-error").last()).toContainText("You can download your data now.");
    } else {
      await expect(page).toHaveURL(/\/security$/);
    }
    const again = await download(page);
    expect(again.account.email).toBe(email);
  });
}
