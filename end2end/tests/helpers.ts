import { execFileSync } from "node:child_process";
import { homedir } from "node:os";
import path from "node:path";
import { expect, type BrowserContext, type Locator, type Page } from "@playwright/test";

/** A strong password that passes the strength check. */
export const PASSWORD = "quiet lighthouse hums over grey water";

let counter = 0;
/** A fresh address for each account a test creates. */
export function newEmail(label: string): string {
  counter += 1;
  return `${label}-${Date.now()}-${counter}@example.com`;
}

/** Clicks a link of a signed-in page whose sign-in was just ended. On a
 *  slow run the page's own refresh timer may meet the ending first and
 *  leave for the sign-in page, taking the link with it; either way the
 *  caller then checks where the page landed and what it says. */
export async function clickWhileSignedOutElsewhere(page: Page, link: Locator): Promise<void> {
  await link.click({ timeout: 10_000 }).catch((err) => {
    if (!new URL(page.url()).pathname.startsWith("/login")) throw err;
  });
}

/** Waits until the wasm has hydrated the page (it marks <html>). */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator("html[data-hydrated]")).toHaveCount(1);
}

/** Registers through the page (hydrated or not) and lands on the start page. */
export async function register(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto("/register");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("whoami")).toContainText(email);
}

/** Signs in through the login page. */
export async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toContainText(email);
}

/** Opens the newest outbox letter to `to` titled `subject` and follows its link. */
export async function followMailedLink(page: Page, to: string, subject: string): Promise<void> {
  const letter = page
    .getByTestId("letter")
    .filter({ hasText: to })
    .filter({ has: page.getByRole("heading", { name: subject }) })
    .first();
  // Letters are sent in the background: look again until it is there.
  await expect(async () => {
    await page.goto("/dev/outbox");
    await expect(letter).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await letter.getByRole("link").first().click();
}

/** Registers and confirms the address from the mailed link: second factors
 *  can be added only to an account whose address is proved. */
export async function registerVerified(page: Page, email: string, password = PASSWORD): Promise<void> {
  await register(page, email, password);
  await followMailedLink(page, email, "Confirm your email address");
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page.getByTestId("link-done")).toContainText("confirmed");
}

/** Moves the account's sign-ins an hour into the past, in the server's
 *  own database (the clock the recent-sign-in rule reads). */
export function anHourLater(email: string): void {
  const data = process.env.E2E_DATA_DIR ?? path.join(__dirname, "..", "test-data");
  execFileSync("sqlite3", [
    path.join(data, "e2e.db"),
    `UPDATE sessions SET created_at = created_at - 3600000, proved_at = proved_at - 3600000 ` +
      `WHERE user_id = (SELECT id FROM users WHERE email = '${email}')`,
  ]);
}

// WebAuthn refuses an IP address as relying party: these tests open the
// app on localhost, whatever the other tests use.
export const passkeyOrigin = `http://localhost:${process.env.E2E_PORT ?? 3210}`;

/** A page with Chromium's virtual platform authenticator (user
 *  verification on, passkeys stored on it), reached through the DevTools
 *  protocol. */
export async function withAuthenticator(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return page;
}

/** Runs the gatehouse command line against the test server's database. */
export function gatehouse(...args: string[]): string {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(homedir(), ".cache/gatehouse/target");
  const data = path.resolve(__dirname, "../test-data");
  return execFileSync(path.join(target, "debug/gatehouse"), args, {
    env: { ...process.env, DATABASE_URL: `sqlite://${data}/e2e.db`, GATEHOUSE_DATA_DIR: data, RUST_LOG: "warn" },
    encoding: "utf8",
  });
}
