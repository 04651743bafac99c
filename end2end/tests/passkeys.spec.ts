import { expect, test } from "@playwright/test";
import { hydrated, newEmail, passkeyOrigin as origin, registerVerified, withAuthenticator } from "./helpers";

test("a passkey is added on the security page, then signs in alone", async ({ browser }) => {
  const email = newEmail("passkey");
  const context = await browser.newContext({ baseURL: origin });
  const page = await withAuthenticator(context);
  await registerVerified(page, email);

  await page.goto("/security");
  await hydrated(page);
  const section = page.getByTestId("passkeys");
  await expect(section).toContainText("No passkeys yet.");
  await section.getByLabel("Passkey name").fill("Test laptop");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(section.getByTestId("passkey")).toHaveCount(1);
  await expect(section.getByTestId("passkey")).toContainText("Test laptop");
  await expect(section.getByTestId("passkey")).toContainText("never used");

  // Signed out, the login page offers the passkey in the email field's
  // autofill; the virtual authenticator answers such a request at once.
  // (Until that answer is accepted the page may still show the signed-in
  // page it is leaving, so the test waits for the answer itself.)
  const autofilled = page.waitForResponse(
    (res) => res.url().endsWith("/api/passkey/login_finish") && res.ok(),
  );
  await page.getByTestId("sign-out").click();
  await autofilled;
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);
  await hydrated(page);

  // A browser without autofill for passkeys: the button.
  await page.addInitScript(() => {
    PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);

  await page.goto("/sessions");
  await expect(page.getByTestId("method").first()).toHaveText("Passkey");
  await page.goto("/security");
  await hydrated(page);
  await expect(section.getByTestId("passkey")).not.toContainText("never used");
  await section.getByRole("button", { name: "Remove" }).click();
  await expect(section).toContainText("No passkeys yet.");
});

test("without JavaScript the login page offers no passkey button", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: origin, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await expect(page.getByLabel("Password")).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toHaveCount(0);
  await expect(page.getByLabel("Email")).toHaveAttribute("autocomplete", "username webauthn");
});
