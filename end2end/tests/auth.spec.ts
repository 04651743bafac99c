import { expect, test, type Page } from "@playwright/test";
import { hydrated, newEmail, PASSWORD, register, signIn } from "./helpers";

/** Resolves after `count` successful refreshes on `page`. */
function refreshes(page: Page, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    page.on("response", (r) => {
      if (r.url().endsWith("/api/refresh") && r.status() === 200 && ++seen === count) resolve();
    });
  });
}

test("a signed-in user stays signed in across several access-token lifetimes", async ({ page }) => {
  const email = newEmail("stay");
  await register(page, email);
  await hydrated(page);
  // The access token lives 4 s; three refreshes span well over two lifetimes.
  await refreshes(page, 3);
  await expect(page.getByTestId("whoami")).toContainText(email);
  await page.getByRole("link", { name: "Devices", exact: true }).click();
  await expect(page.getByTestId("session")).toHaveCount(1);
  await expect(page.getByText("this device")).toBeVisible();
});

test("an expired access token on a plain page load does not sign the user out", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const email = newEmail("reload");
  await register(page, email);
  // Without JavaScript nothing refreshes in the background: wait until the
  // access cookie has expired, then load a page.
  await expect
    .poll(async () => (await context.cookies()).some((c) => c.name === "__Host-gh_access"), { timeout: 15_000 })
    .toBe(false);
  await page.goto("/sessions");
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByTestId("session")).toHaveCount(1);
  const cookies = await context.cookies();
  expect(cookies.map((c) => c.name)).toContain("__Host-gh_access");
  await context.close();
});

test("two tabs of one user both stay signed in through refreshes", async ({ context }) => {
  const first = await context.newPage();
  const email = newEmail("tabs");
  await register(first, email);
  await hydrated(first);
  const second = await context.newPage();
  await second.goto("/");
  await hydrated(second);
  await expect(second.getByTestId("whoami")).toContainText(email);

  const failures: string[] = [];
  for (const p of [first, second]) {
    p.on("response", (r) => {
      if (r.url().includes("/api/") && r.status() === 401) failures.push(`${r.url()} ${r.status()}`);
    });
  }
  await Promise.all([refreshes(first, 2), refreshes(second, 2)].map((p) => Promise.race([p, new Promise((r) => setTimeout(r, 30_000))])));
  for (const p of [first, second]) {
    await p.getByRole("link", { name: "Devices", exact: true }).click();
    await expect(p.getByTestId("session")).toHaveCount(1);
  }
  expect(failures).toEqual([]);
});

test("signing out in one tab sends the other to the sign-in page", async ({ context }) => {
  const first = await context.newPage();
  await register(first, newEmail("logout"));
  await hydrated(first);
  const second = await context.newPage();
  await second.goto("/sessions");
  await hydrated(second);

  await first.getByTestId("sign-out").click();
  await expect(first).toHaveURL(/\/login/);
  await expect(second).toHaveURL(/\/login/);
  // And the session is gone for real: a signed-in page redirects.
  await second.goto("/sessions");
  await expect(second).toHaveURL(/\/login\?next=%2Fsessions/);
});

test("the sign-in flow works with JavaScript disabled", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const email = newEmail("nojs");
  await register(page, email);
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/login$/);

  // A wrong password comes back as a readable message, not raw error text.
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login\?error=invalid_credentials/);
  await expect(page.getByTestId("form-error")).toHaveText("The email or password is not right.");

  // next= is honoured after signing in.
  await page.goto("/sessions");
  await expect(page).toHaveURL(/\/login\?next=%2Fsessions/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByTestId("session")).toHaveCount(1);
  await context.close();
});

test("hydrated sign-in shows errors in place", async ({ page }) => {
  const email = newEmail("wrong");
  await register(page, email);
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("definitely not it");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("form-error")).toHaveText("The email or password is not right.");
  await expect(page).toHaveURL(/\/login$/);
  await signIn(page, email);
});
