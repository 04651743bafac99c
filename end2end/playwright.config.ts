import { defineConfig } from "@playwright/test";

// The server is the real debug build, on its own port, with a fresh SQLite
// file and a 4-second access token so every test lives through several
// silent refreshes.
const port = Number(process.env.E2E_PORT ?? 3210);
// A real OpenID provider (oidc-provider, see oidc/README.md) for the
// "Continue with …" tests; gatehouse knows it as `testid` (serve.sh).
const oidcPort = Number(process.env.E2E_OIDC_PORT ?? 3219);

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      // Debian's Chromium; Playwright's own browser download is not used.
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: [
    {
      command: `node ./oidc/provider.mjs --port ${oidcPort} --client gatehouse-e2e:e2e-client-secret-0123456789:http://127.0.0.1:${port}/auth/oidc/testid/callback`,
      url: `http://127.0.0.1:${oidcPort}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: "bash ./serve.sh",
      url: `http://127.0.0.1:${port}/healthz`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "pipe",
      stderr: "pipe",
      env: { E2E_PORT: String(port), E2E_OIDC_PORT: String(oidcPort) },
    },
  ],
});
