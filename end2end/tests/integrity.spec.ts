import { expect, test } from "@playwright/test";
import {
  anHourLater,
  followMailedLink,
  gatehouse,
  hydrated,
  newEmail,
  passkeyOrigin,
  PASSWORD,
  register,
  signIn,
  withAuthenticator,
} from "./helpers";

const NEW_PASSWORD = "amber tide carries seven paper boats";

test("an account opened with someone else's address cannot be armed before its owner arrives", async ({ browser }) => {
  const email = newEmail("prehijack");
  // On localhost with an authenticator, where a passkey could be added.
  const planterContext = await browser.newContext({ baseURL: passkeyOrigin });
  const planter = await withAuthenticator(planterContext);
  await register(planter, email);

  // Neither an authenticator app nor a passkey can be added to the unproved address.
  await planter.goto("/security");
  await hydrated(planter);
  await planter.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(planter.getByText("Confirm your email address before adding a second factor").first()).toBeVisible();
  await expect(planter.getByTestId("totp-enroll")).toHaveCount(0);
  const passkeys = planter.getByTestId("passkeys");
  await passkeys.getByLabel("Passkey name").fill("planted");
  await passkeys.getByRole("button", { name: "Add a passkey" }).click();
  await expect(passkeys.getByTestId("form-error")).toContainText("Confirm your email address");
  await expect(passkeys.getByTestId("passkey")).toHaveCount(0);
  // Still signed in: the refusal ends nobody's sign-in.
  await planter.goto("/");
  await expect(planter.getByTestId("whoami")).toContainText(email);

  // The owner takes the account back by mail and is signed in at once: no
  // code prompt for a factor they never set up.
  const owner = await (await browser.newContext()).newPage();
  await owner.goto("/forgot-password");
  await owner.getByLabel("Email").fill(email);
  await owner.getByRole("button", { name: "Send me a link" }).click();
  await followMailedLink(owner, email, "Reset your password");
  await owner.getByLabel("New password").fill(NEW_PASSWORD);
  await owner.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(owner.getByTestId("whoami")).toContainText(email);
  await expect(owner).not.toHaveURL(/\/login\/code/);
  await planterContext.close();
});

for (const javaScriptEnabled of [true, false]) {
  test(`signing out another device one at a time needs a recent sign-in (JavaScript ${javaScriptEnabled ? "on" : "off"})`, async ({ browser }) => {
    const email = newEmail("oneby");
    const here = await (await browser.newContext({ javaScriptEnabled })).newPage();
    await register(here, email);
    const otherContext = await browser.newContext();
    await signIn(await otherContext.newPage(), email);
    anHourLater(email);

    await here.goto("/sessions");
    if (javaScriptEnabled) await hydrated(here);
    const other = here.getByTestId("session").filter({ hasNotText: "this device" });
    await other.getByRole("link", { name: "Sign out" }).click();
    await here.getByRole("button", { name: "Yes, sign out" }).click();
    const prompt = here.getByTestId("reauth");
    await expect(prompt).toBeVisible();
    await expect(here.getByTestId("session")).toHaveCount(2);
    await prompt.getByLabel("Password").fill(PASSWORD);
    await prompt.getByRole("button", { name: "Confirm it's me" }).click();
    if (!javaScriptEnabled) {
      // Back at the confirm step it came from; the action is asked again.
      await here.getByRole("button", { name: "Yes, sign out" }).click();
    }
    await expect(here.getByTestId("session")).toHaveCount(1);
    await expect(here.getByTestId("session")).toContainText("this device");
    await otherContext.close();
  });
}

test("a stale administrator confirms it's them before disabling an account", async ({ browser }) => {
  const adminEmail = newEmail("admin");
  const userEmail = newEmail("member");
  const admin = await (await browser.newContext()).newPage();
  const userContext = await browser.newContext();
  await register(admin, adminEmail);
  expect(gatehouse("admin", "grant", adminEmail)).toContain("is now an administrator");
  await register(await userContext.newPage(), userEmail);
  anHourLater(adminEmail);

  await admin.goto(`/admin?query=${encodeURIComponent(userEmail)}`);
  await hydrated(admin);
  const row = () => admin.getByTestId("admin-user").filter({ hasText: userEmail });
  await row().getByRole("button", { name: "Disable" }).click();
  const prompt = admin.getByTestId("reauth");
  await expect(prompt).toBeVisible();
  await expect(row()).not.toContainText("disabled");
  await prompt.getByLabel("Password").fill(PASSWORD);
  await prompt.getByRole("button", { name: "Confirm it's me" }).click();
  await expect(prompt).toHaveCount(0);
  await row().getByRole("button", { name: "Disable" }).click();
  await expect(row()).toContainText("disabled");
  await userContext.close();
});
