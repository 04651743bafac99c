#!/usr/bin/env node
// A real, certified OpenID Connect provider (the npm package oidc-provider)
// wrapped as a test harness for gatehouse's integration and end-to-end tests.
//
//   node end2end/oidc/provider.mjs [--port N] [--client ID:SECRET:REDIRECT_URI]...
//
// Listens on 127.0.0.1 only. Once listening it prints exactly one JSON line to
// stdout, {"issuer":"http://127.0.0.1:PORT"}; everything else goes to stderr.
// See README.md beside this file for the control endpoint and the login form.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

// oidc-provider prints its notices with console.info (stdout) and console.warn.
// stdout is reserved for the single issuer line, so route all console output
// to stderr before the library is loaded.
const toStderr = (...args) => process.stderr.write(`${args.join(' ')}\n`);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
console.warn = (...args) => {
  // The library warns on import when Node.js is older than 22 LTS; gatehouse's
  // machines run Node.js 20, on which it works (it needs no Node 22-only API).
  if (/oidc-provider WARNING: Unsupported runtime/.test(args.join(' '))) return;
  toStderr(...args);
};

const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------- arguments

function usage(message) {
  process.stderr.write(`${message}\nusage: node provider.mjs [--port N] [--client ID:SECRET:REDIRECT_URI]...\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      client: { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  }).values;
} catch (err) {
  usage(err.message);
}

const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`invalid --port ${args.port}`);

// ------------------------------------------------------------ in-memory state

const clients = new Map(); // client_id -> client metadata
const accounts = new Map(); // sub -> { email?, email_verified?, name? }

function clientMetadata({
  client_id: clientId,
  client_secret: clientSecret,
  redirect_uris: redirectUris,
  token_endpoint_auth_method: authMethod = 'client_secret_basic',
  post_logout_redirect_uris: postLogoutRedirectUris,
}) {
  if (typeof clientId !== 'string' || !clientId) throw new TypeError('client_id must be a non-empty string');
  if (typeof clientSecret !== 'string' || !clientSecret) throw new TypeError('client_secret must be a non-empty string');
  if (!Array.isArray(redirectUris) || !redirectUris.length || !redirectUris.every((u) => typeof u === 'string')) {
    throw new TypeError('redirect_uris must be a non-empty array of strings');
  }
  return {
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    ...(postLogoutRedirectUris ? { post_logout_redirect_uris: postLogoutRedirectUris } : undefined),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: authMethod,
    id_token_signed_response_alg: 'RS256',
    require_auth_time: true,
  };
}

for (const spec of args.client) {
  // ID:SECRET:REDIRECT_URI -- the redirect URI has colons of its own.
  const first = spec.indexOf(':');
  const second = first === -1 ? -1 : spec.indexOf(':', first + 1);
  if (second === -1) usage(`invalid --client ${spec}`);
  try {
    const metadata = clientMetadata({
      client_id: spec.slice(0, first),
      client_secret: spec.slice(first + 1, second),
      redirect_uris: [spec.slice(second + 1)],
    });
    clients.set(metadata.client_id, metadata);
  } catch (err) {
    usage(`invalid --client ${spec}: ${err.message}`);
  }
}

// A minimal adapter keeping everything in memory. Client lookups are answered
// from `clients`, so clients added at run time are found like static ones
// (oidc-provider caches adapter-found clients by a hash of their metadata, so
// replacing a client's metadata takes effect at once).
const store = new Map(); // "Model:id" -> { payload, expiresAt }
const grantMembers = new Map(); // grantId -> Set of keys
const sessionUids = new Map(); // session uid -> session id

function live(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}

class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    if (this.model === 'Client') {
      clients.set(id, payload);
      return;
    }
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { payload, expiresAt });
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
    if (payload.grantId) {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
  }

  async find(id) {
    if (this.model === 'Client') {
      const metadata = clients.get(id);
      return metadata ? { ...metadata } : undefined;
    }
    return live(this.key(id));
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id) {
    const payload = live(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    if (this.model === 'Client') {
      clients.delete(id);
      return;
    }
    const key = this.key(id);
    const payload = live(key);
    store.delete(key);
    if (payload?.uid && sessionUids.get(payload.uid) === id) sessionUids.delete(payload.uid);
  }

  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) ?? []) store.delete(key);
    grantMembers.delete(grantId);
  }
}

// -------------------------------------------------------------------- pages

const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#111;background:#fff}
main{max-width:28rem}
label{display:block;margin:.75rem 0 .25rem}
input[type=text],input[type=email]{width:100%;padding:.4rem;box-sizing:border-box}
.check label{display:inline;margin-left:.25rem}
button{margin-top:1rem;padding:.4rem 1rem}
.error{color:#a00000}
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, details, error) {
  const { params } = details;
  const action = `/interaction/${encodeURIComponent(uid)}`;
  return page('Sign in - test OpenID provider', `<h1>Sign in to the test OpenID provider</h1>
<p>Client <code>${esc(params.client_id)}</code> asks for <code>${esc(params.scope)}</code>.</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="${action}/login">
<label for="sub">Subject (sub)</label>
<input type="text" id="sub" name="sub" required autocomplete="off" autofocus${details.params.login_hint ? ` value="${esc(details.params.login_hint)}"` : ''}>
<label for="email">Email</label>
<input type="email" id="email" name="email" autocomplete="off">
<div class="check"><input type="checkbox" id="email_verified" name="email_verified" value="true"><label for="email_verified">Email verified</label></div>
<label for="name">Name</label>
<input type="text" id="name" name="name" autocomplete="off">
<label for="amr">Authentication methods (amr, comma-separated, e.g. pwd,mfa)</label>
<input type="text" id="amr" name="amr" autocomplete="off">
<button type="submit">Sign in</button>
</form>
<form method="post" action="${action}/abort">
<button type="submit">Cancel</button>
</form>`);
}

function errorPage(title, fields) {
  return page(title, `<h1>${esc(title)}</h1>
<dl>
${Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('\n')}
</dl>`);
}

// ----------------------------------------------------------- the provider

// Listen first: the issuer needs the port.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

// A fresh RS256 signing key with a random kid.
function newSigningKey() {
  return {
    ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: crypto.randomUUID(),
    use: 'sig',
    alg: 'RS256',
  };
}

// Kept across key rotations so that session and interaction cookies stay valid.
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

const DAY = 24 * 60 * 60;

// oidc-provider takes its signing keys only at construction and has no API to
// change them, so rotating keys (POST /__test/rotate-keys) builds a new
// Provider with a new key and swaps it in. Everything else is shared: the
// in-memory adapter (clients, sessions, grants, codes, tokens), the accounts,
// the cookie keys, so clients, sign-ins and cookies survive a rotation.
function createProvider() {
  const instance = new Provider(issuer, {
    adapter: MemoryAdapter,
    jwks: { keys: [newSigningKey()] },
    cookies: {
      // Not Secure: the issuer is plain http. oidc-provider only adds Secure on
      // https requests, and SameSite=Lax works for top-level redirects.
      keys: cookieKeys,
    },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    scopes: ['openid', 'email', 'profile'],
    claims: {
      // auth_time and amr are listed under openid so that every ID token has
      // them (amr only when the scripted login gave one).
      openid: ['sub', 'auth_time', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // Claims of the requested scopes go into the ID token too, not only /me.
    conformIdTokenClaims: false,
    // PKCE: S256 is supported and checked whenever a code_challenge was sent.
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page('Sign out - test OpenID provider', `<h1>Sign out of the test OpenID provider?</h1>
${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Signed out - test OpenID provider', '<h1>Signed out</h1>');
        },
      },
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // Consent never needs a page: every client is first-party, so the grant
    // covers whatever openid scopes and claims the request asked for.
    async loadExistingGrant(ctx) {
      const { oidc } = ctx;
      const accountId = oidc.account.accountId;
      const clientId = oidc.client.clientId;
      const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(clientId);
      let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      if (!grant || grant.accountId !== accountId || grant.clientId !== clientId) {
        grant = new oidc.provider.Grant({ accountId, clientId });
      }
      const scopes = [...oidc.requestParamOIDCScopes].join(' ');
      if (scopes) grant.addOIDCScope(scopes);
      const claims = [...oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
    async findAccount(_ctx, sub) {
      const claims = accounts.get(sub) ?? {};
      return {
        accountId: sub,
        async claims() {
          return { sub, ...claims };
        },
      };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage('Sign-in error - test OpenID provider', out);
    },
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: 60 * 60,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      Interaction: 60 * 60,
      Session: 14 * DAY,
      Grant: 14 * DAY,
    },
  });
  instance.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider server_error: ${err?.stack ?? err}\n`));
  return { provider: instance, callback: instance.callback() };
}

// The current provider; requests in flight keep the instance they started with.
let current = createProvider();

// ------------------------------------------------------ own HTTP handlers

async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.statusCode = status;
  if (body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

async function finishConsent(provider, req, res, details) {
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  if (!grant) grant = new provider.Grant({ accountId, clientId });
  if (details.params.scope) grant.addOIDCScope(details.params.scope);
  const missingClaims = details.prompt.details?.missingOIDCClaims;
  if (missingClaims?.length) grant.addOIDCClaims(missingClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function handleInteraction(provider, req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      send(res, 400, errorPage('Sign-in error - test OpenID provider', {
        error: err.error,
        error_description: err.error_description,
      }));
      return;
    }
    throw err;
  }
  if (details.uid !== uid) {
    send(res, 400, errorPage('Sign-in error - test OpenID provider', { error: 'interaction mismatch' }));
    return;
  }

  if (action === undefined && req.method === 'GET') {
    if (details.prompt.name === 'consent') {
      await finishConsent(provider, req, res, details);
      return;
    }
    send(res, 200, loginPage(uid, details));
    return;
  }

  if (action === 'login' && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const sub = (form.get('sub') ?? '').trim();
    if (!sub) {
      send(res, 400, loginPage(uid, details, 'Enter a subject (sub).'));
      return;
    }
    const email = (form.get('email') ?? '').trim();
    const name = (form.get('name') ?? '').trim();
    const amr = (form.get('amr') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    accounts.set(sub, {
      ...(email ? { email, email_verified: form.get('email_verified') === 'true' } : undefined),
      ...(name ? { name } : undefined),
    });

    const returnTo = await provider.interactionResult(req, res, {
      login: { accountId: sub, remember: true, ...(amr.length ? { amr } : undefined) },
    }, { mergeWithLastSubmission: false });

    // Signing in as somebody else in the same browser: switch accounts at
    // once rather than show oidc-provider's "sign out first" confirmation.
    if (details.session?.accountId && details.session.accountId !== sub && details.session.uid) {
      const session = await provider.Session.findByUid(details.session.uid);
      if (session) {
        session.accountId = undefined;
        session.loginTs = undefined;
        session.amr = undefined;
        session.acr = undefined;
        session.authorizations = undefined;
        await session.persist();
      }
    }

    res.statusCode = 303;
    res.setHeader('Location', returnTo);
    res.setHeader('Content-Length', '0');
    res.end();
    return;
  }

  if (action === 'abort' && req.method === 'POST') {
    await readBody(req);
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  send(res, 405, errorPage('Method not allowed', {}));
}

async function handleAddClient(provider, req, res) {
  let metadata;
  try {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      throw new TypeError('Content-Type must be application/json');
    }
    metadata = clientMetadata(JSON.parse(await readBody(req)));
    await provider.Client.validate(metadata);
  } catch (err) {
    send(res, 400, `${JSON.stringify({ error: 'invalid_client_metadata', error_description: err.error_description ?? err.message })}\n`, 'application/json');
    return;
  }
  clients.set(metadata.client_id, metadata);
  send(res, 204);
}

async function handleRotateKeys(req, res) {
  await readBody(req);
  current = createProvider();
  send(res, 204);
}

const notAllowed = (res) => Promise.resolve(send(res, 405, undefined));

server.on('request', (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  const interaction = /^\/interaction\/([^/]+)(?:\/(login|abort))?\/?$/.exec(pathname);
  const { provider, callback } = current;
  let handled;
  if (interaction) {
    handled = handleInteraction(provider, req, res, decodeURIComponent(interaction[1]), interaction[2]);
  } else if (pathname === '/__test/clients') {
    handled = req.method === 'POST' ? handleAddClient(provider, req, res) : notAllowed(res);
  } else if (pathname === '/__test/rotate-keys') {
    handled = req.method === 'POST' ? handleRotateKeys(req, res) : notAllowed(res);
  } else {
    callback(req, res);
    return;
  }
  handled.catch((err) => {
    process.stderr.write(`test provider error: ${err?.stack ?? err}\n`);
    if (!res.headersSent) send(res, 500, errorPage('Server error', { error: 'server_error' }));
    else res.destroy();
  });
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
