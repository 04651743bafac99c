import { expect, test } from "@playwright/test";
import { clickWhileSignedOutElsewhere, hydrated, newEmail, register, signIn } from "./helpers";

test("device A revokes device B, and B lands on the sign-in page at its next click", async ({ browser }) => {
  const email = newEmail("devices");
  const a = await browser.newContext();
  const b = await browser.newContext();
  const pageA = await a.newPage();
  const pageB = await b.newPage();
  await register(pageA, email);
  await signIn(pageB, email);

  await pageA.goto("/sessions");
  await hydrated(pageA);
  const rows = pageA.getByTestId("session");
  await expect(rows).toHaveCount(2);
  const other = rows.filter({ hasNot: pageA.locator(".badge", { hasText: "this device" }) });
  await expect(other.locator(".device")).toHaveText(/(Chrome|Chromium)/);

  await other.getByRole("link", { name: "Sign out" }).click();
  await other.getByRole("button", { name: "Yes, sign out" }).click();
  await expect(rows).toHaveCount(1);

  // B's access token has seconds left, yet its very next action is refused.
  await clickWhileSignedOutElsewhere(pageB, pageB.getByRole("link", { name: "Devices", exact: true }));
  await expect(pageB).toHaveURL(/\/login/);
  await expect(pageB.getByTestId("form-error")).toHaveText("This device was signed out from another device.");
  await a.close();
  await b.close();
});

test("revoking works with JavaScript disabled", async ({ browser }) => {
  const email = newEmail("devices-nojs");
  const a = await browser.newContext({ javaScriptEnabled: false });
  const b = await browser.newContext();
  const pageA = await a.newPage();
  const pageB = await b.newPage();
  await register(pageA, email);
  await signIn(pageB, email);

  await pageA.goto("/sessions");
  const other = pageA.getByTestId("session").filter({ hasNot: pageA.locator(".badge", { hasText: "this device" }) });
  await other.getByRole("link", { name: "Sign out" }).click();
  await expect(pageA).toHaveURL(/confirm=/);
  await pageA.getByRole("button", { name: "Yes, sign out" }).click();
  await expect(pageA).toHaveURL(/\/sessions$/);
  await expect(pageA.getByTestId("session")).toHaveCount(1);

  // B's own refresh timer may meet the revocation first and leave for the
  // sign-in page while it reloads; where it lands and what it says are
  // checked either way.
  await pageB.reload().catch(() => undefined);
  await expect(pageB).toHaveURL(/\/login/);
  await expect(pageB.getByTestId("form-error")).toHaveText("This device was signed out from another device.");
  await a.close();
  await b.close();
});
