import { expect, test } from "@playwright/test";
import { hydrated, newEmail, PASSWORD, register } from "./helpers";

// A `next` that a browser's URL parser would turn into another origin must
// never be followed after a hydrated sign-in: the tab in `/\t/evil.example`
// is dropped by the parser, leaving `//evil.example`. The same check runs on
// the server (no-JS posts) and in the browser.
for (const next of ["/%09/evil.example", "/%5C/evil.example", "//evil.example", "/%0A/evil.example"]) {
  test(`a hydrated sign-in never follows next=${next} off the site`, async ({ page, baseURL }) => {
    const email = newEmail("redirect");
    await register(page, email);
    await page.getByTestId("sign-out").click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto(`/login?next=${next}`);
    await hydrated(page);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("whoami")).toContainText(email);
    expect(new URL(page.url()).origin).toBe(new URL(baseURL!).origin);
    expect(new URL(page.url()).pathname).toBe("/");
  });
}
