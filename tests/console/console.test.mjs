// console.test.mjs - the web console in a real browser (Debian's chromium,
// driven by playwright-core) against a real signetd started by
// tests/e2e/console_browser.sh, which passes:
//   SIGNET_URL, ADMIN_KEY, SA_PUB (a public key file), SHOT_DIR, E2E_DIR
//
// Walks what an admin, a project owner's admin and a signer do, and checks
// the session rules: cookie flags, CSRF, no page without a session, a
// disabled user's session ends, sign-out ends it. Saves a screenshot of
// every page (1280x800, and phone width) into SHOT_DIR.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const URL_ = process.env.SIGNET_URL;
const ADMIN_KEY = process.env.ADMIN_KEY;
const SA_PUB = process.env.SA_PUB;
const SA_PUB2 = process.env.SA_PUB2;
const SA_PUB3 = process.env.SA_PUB3;
const SHOT_DIR = process.env.SHOT_DIR;
const ORIGIN = new URL(URL_).origin;

let failures = 0;
let step = '';
const log = (...a) => console.log(...a);
function check(cond, what) {
  if (cond) return;
  failures++;
  console.error(`FAIL [console] ${step}: ${what}`);
}
function must(cond, what) {
  if (!cond) throw new Error(`${step}: ${what}`);
}

const profile = mkdtempSync(join(process.env.E2E_DIR || tmpdir(), 'chromium-'));
// A fresh profile directory each run (Playwright takes it as the
// persistent context's user-data-dir); the test's own contexts are
// separate incognito-like contexts of the same browser.
const persistent = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const b = persistent.browser();
if (!b) throw new Error('no browser behind the persistent context');

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function newContext(viewport) {
  const ctx = await b.newContext({
    viewport, ignoreHTTPSErrors: true, baseURL: ORIGIN,
    deviceScaleFactor: 1, isMobile: viewport.width < 500, hasTouch: viewport.width < 500,
  });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  const pg = await ctx.newPage();
  pg.setDefaultTimeout(30000);
  // Anything the CSP blocks, and any script error, is a failure.
  pg.on('console', (m) => { if (m.type() === 'error' && !/status of 40[0-9]/.test(m.text())) check(false, `console error: ${m.text()}`); });
  pg.on('pageerror', (e) => check(false, `page error: ${e.message}`));
  pg.on('requestfailed', (r) => {
    // downloads are handed over to the browser and reported as aborted
    if (!/ERR_ABORTED/.test(r.failure().errorText)) check(false, `request failed: ${r.method()} ${r.url()} ${r.failure().errorText}`);
  });
  pg.on('dialog', (d) => d.accept());
  await pg.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  return { ctx, pg };
}

async function shot(pg, name) {
  await pg.waitForLoadState('networkidle');
  await pg.screenshot({ path: join(SHOT_DIR, `${name}.png`), fullPage: true });
}

// Every input, select and textarea has a visible <label for> naming it,
// and that text is its accessible name.
async function checkLabels(pg, where) {
  const bad = await pg.evaluate(() => {
    const out = [];
    for (const e of document.querySelectorAll('main input, main select, main textarea')) {
      const lab = e.id ? document.querySelector(`label[for="${e.id}"]`) : null;
      if (!lab || !lab.textContent.trim() || lab.hidden) out.push(e.name || e.outerHTML.slice(0, 60));
    }
    return out;
  });
  check(bad.length === 0, `${where}: controls without a visible label: ${bad.join(', ')}`);
}

async function nav(pg, text) {
  const toggle = pg.getByRole('button', { name: 'Menu' });
  if (await toggle.isVisible()) await toggle.click();
  await pg.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: text, exact: true }).click();
  await pg.getByRole('heading', { level: 1 }).waitFor();
}

async function signIn(pg, key, { keyboard = false } = {}) {
  await pg.goto('/signin');
  if (keyboard) {
    // skip link, then the API key field, then the button: Enter submits
    await pg.keyboard.press('Tab');
    await pg.keyboard.press('Tab');
    const focused = await pg.evaluate(() => document.activeElement && document.activeElement.name);
    check(focused === 'api_key', `Tab reaches the API key field (got ${focused})`);
    await pg.keyboard.type(key);
    await pg.keyboard.press('Enter');
  } else {
    await pg.getByLabel('API key').fill(key);
    await pg.getByRole('button', { name: 'Sign in' }).click();
  }
  await pg.waitForURL(`${ORIGIN}/`);
  await pg.getByRole('heading', { name: 'Keys you can sign with' }).waitFor();
}

// A form by its accessible name, and the error shown beside it.
const formOf = (pg, name) => pg.getByRole('form', { name });
async function submitForm(pg, name, fill, button) {
  const f = formOf(pg, name);
  await fill(f);
  await f.getByRole('button', { name: button }).click();
  return f;
}

const PAGES = ['/', '/projects', '/keys', '/teams', '/service-accounts', '/users', '/apikeys', '/ca', '/audit', '/projects/x', '/keys/x', '/teams/x'];

try {
  // ---- 1. no console page without a session
  step = 'no session';
  {
    const { ctx, pg } = await newContext(DESKTOP);
    for (const p of PAGES) {
      const r = await ctx.request.get(p, { maxRedirects: 0 });
      check(r.status() === 303 && r.headers().location === '/signin', `${p} without a session: ${r.status()} ${r.headers().location}`);
    }
    await pg.goto('/projects');
    check(new URL(pg.url()).pathname === '/signin', `browser on /projects lands on ${pg.url()}`);
    const r = await ctx.request.get('/signin');
    const hd = r.headers();
    check(/script-src 'self'/.test(hd['content-security-policy'] || '') && !/unsafe-inline/.test(hd['content-security-policy']), `CSP: ${hd['content-security-policy']}`);
    check(hd['x-frame-options'] === 'DENY', `X-Frame-Options: ${hd['x-frame-options']}`);
    check(!!hd.etag, 'the shell has an ETag');
    const r304 = await ctx.request.get('/signin', { headers: { 'If-None-Match': hd.etag } });
    check(r304.status() === 304, `If-None-Match gives ${r304.status()}`);
    const html = await r.text();
    check(!/<script>|<style|style=/.test(html), 'no inline script or style in the shell');
    const asset = /src="(\/assets\/[0-9a-f]+\/app\.js)"/.exec(html);
    must(asset, 'the shell names a hashed app.js');
    const ra = await ctx.request.get(asset[1]);
    check(ra.status() === 200 && /immutable/.test(ra.headers()['cache-control']), `asset cache: ${ra.headers()['cache-control']}`);
    check((await ctx.request.get(asset[1].replace(/[0-9a-f]{16}/, '0000000000000000'))).status() === 404, 'another build\'s asset path is 404');
    await signInShot(pg);
    await ctx.close();
  }

  async function signInShot(pg) {
    await pg.setViewportSize(DESKTOP);
    await pg.goto('/signin');
    await checkLabels(pg, 'signin');
    // a wrong key: the error shows beside the form
    await submitForm(pg, 'Sign in', (f) => f.getByLabel('API key').fill('snk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 'Sign in');
    await formOf(pg, 'Sign in').getByRole('alert').getByText('invalid API key').waitFor();
    await shot(pg, 'signin-error');
    await pg.goto('/signin');
    await shot(pg, 'signin');
    await pg.setViewportSize(PHONE);
    await shot(pg, 'phone-signin');
  }

  // ---- 2. the admin
  step = 'admin';
  const A = await newContext(DESKTOP);
  const pa = A.pg;
  await signIn(pa, ADMIN_KEY);
  const cookies = await A.ctx.cookies();
  const sc = cookies.find((c) => c.name === '__Host-signet_session');
  must(sc, 'a session cookie is set');
  check(sc.httpOnly && sc.secure && sc.sameSite === 'Strict', `cookie flags ${JSON.stringify(sc)}`);
  check(!sc.value.includes(ADMIN_KEY.slice(4, 20)), 'the cookie is not the API key');
  const stored = await pa.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie + document.documentElement.outerHTML);
  check(!stored.includes(ADMIN_KEY), 'the API key is nowhere in the page or browser storage');
  check(!stored.includes(sc.value), 'the session secret is not readable by scripts');

  // users: create the signer (API key shown once)
  await nav(pa, 'Users');
  await checkLabels(pa, 'users');
  let f = await submitForm(pa, 'Create a user', async (fm) => {
    await fm.getByLabel('Email').fill('signer@acme.test');
    await fm.getByLabel('Role').selectOption('user');
  }, 'Create user');
  const signerKey = (await f.locator('.secret code').textContent()).trim();
  must(/^snk_/.test(signerKey), `new user's API key shown (${signerKey.slice(0, 8)})`);
  await shot(pa, 'users-created');
  // an error from the API appears beside the form that caused it
  f = await submitForm(pa, 'Create a user', (fm) => fm.getByLabel('Email').fill('signer@acme.test'), 'Create user');
  await f.getByRole('alert').getByText(/already exists/).waitFor();
  // 21 more users: the list pages (20 a page)
  {
    const tok = (await (await A.ctx.request.get('/v1/session')).json()).csrf_token;
    for (let i = 0; i < 21; i++) {
      const r = await A.ctx.request.post('/v1/users', { data: { email: `u${String(i).padStart(2, '0')}@acme.test` }, headers: { 'X-CSRF-Token': tok } });
      must(r.status() === 201, `create user ${i}: ${r.status()}`);
    }
  }
  await pa.getByRole('button', { name: 'Refresh list' }).click();
  await pa.getByText('Page 1 of 2 (23 in all)').waitFor();
  await pa.getByRole('button', { name: 'Next page' }).click();
  await pa.getByText('Page 2 of 2 (23 in all)').waitFor();
  await pa.getByRole('cell', { name: 'u20@acme.test', exact: true }).waitFor();
  await pa.getByRole('button', { name: 'Previous page' }).click();
  await pa.getByRole('cell', { name: 'signer@acme.test', exact: true }).waitFor();
  await shot(pa, 'users');

  // projects: create, bad name error beside the form
  await nav(pa, 'Projects');
  await checkLabels(pa, 'projects');
  f = await submitForm(pa, 'Create a project', (fm) => fm.getByLabel('Project name').fill('bad name!'), 'Create project');
  await f.getByRole('alert').getByText(/name/).waitFor();
  await shot(pa, 'projects-error');
  await submitForm(pa, 'Create a project', (fm) => fm.getByLabel('Project name').fill('firmware'), 'Create project');
  await pa.getByRole('heading', { name: 'Project firmware' }).waitFor();

  // a key with algorithm, validity and CA
  await submitForm(pa, 'Create a signing key', async (fm) => {
    await fm.getByLabel('Key name').fill('release');
    await fm.getByLabel('Algorithm').selectOption('ecdsa-p256');
    await fm.getByLabel('Validity').fill('2y');
    await fm.getByLabel('Certificate authority').selectOption('builtin');
  }, 'Create key');
  await pa.getByRole('heading', { name: 'Key firmware/release' }).waitFor();
  const keyUrl = pa.url();
  const uriAdmin = (await pa.locator('.copyable code').first().textContent()).trim();
  check(/^pkcs11:token=Signet;/.test(uriAdmin), `key page shows the PKCS#11 URI (${uriAdmin})`);
  check(await pa.getByRole('button', { name: 'Download certificate and chain' }).isVisible(), 'chain download offered');
  const dl = pa.waitForEvent('download');
  await pa.getByRole('button', { name: 'Download certificate and chain' }).click();
  const d = await dl;
  check(d.suggestedFilename() === 'firmware-release.chain.pem', `download name ${d.suggestedFilename()}`);
  await shot(pa, 'key');

  // an external-CA key: CSR
  await pa.goto('/projects/firmware');
  await submitForm(pa, 'Create a signing key', async (fm) => {
    await fm.getByLabel('Key name').fill('vendor');
    await fm.getByLabel('Algorithm').selectOption('rsa-2048');
    await fm.getByLabel('Certificate authority').selectOption('external');
    await fm.getByLabel('Subject DN (optional)').fill('CN=Vendor, O=Acme');
  }, 'Create key');
  await pa.getByRole('heading', { name: 'Key firmware/vendor' }).waitFor();
  await submitForm(pa, 'Get a CSR', async () => {}, 'Get CSR');
  await pa.getByText('-----BEGIN CERTIFICATE REQUEST-----', { exact: false }).waitFor();
  await checkLabels(pa, 'external key');
  await shot(pa, 'key-external');

  // signers
  await pa.goto('/projects/firmware');
  await checkLabels(pa, 'project');
  await submitForm(pa, 'Add a signer', async (fm) => {
    await fm.getByLabel('Signer type').selectOption('user');
    await fm.getByLabel('Signer (email or name)').fill('signer@acme.test');
  }, 'Add signer');
  await pa.getByRole('cell', { name: 'signer@acme.test', exact: true }).waitFor();
  f = await submitForm(pa, 'Add a signer', async (fm) => {
    await fm.getByLabel('Signer (email or name)').fill('nobody@acme.test');
  }, 'Add signer');
  await f.getByRole('alert').waitFor();
  await shot(pa, 'project');

  // teams and a service account with an uploaded public key
  await nav(pa, 'Teams');
  await submitForm(pa, 'Create a team', (fm) => fm.getByLabel('Team name').fill('dev'), 'Create team');
  await pa.getByRole('heading', { name: 'Team dev' }).waitFor();
  await submitForm(pa, 'Add a member', async (fm) => {
    await fm.getByLabel('User email').fill('signer@acme.test');
    await fm.getByLabel('Team owner (manages members)').check();
  }, 'Add member');
  await pa.getByRole('cell', { name: 'signer@acme.test', exact: true }).waitFor();
  await checkLabels(pa, 'team');
  await shot(pa, 'team');
  await nav(pa, 'Teams');
  await shot(pa, 'teams');

  await nav(pa, 'Service accounts');
  await checkLabels(pa, 'service accounts');
  f = await submitForm(pa, 'Create a service account', async (fm) => {
    await fm.getByLabel('Service account name').fill('ci');
    await fm.getByLabel('Public key (PEM)').fill('not a key');
  }, 'Create service account');
  await f.getByRole('alert').waitFor();
  await submitForm(pa, 'Create a service account', async (fm) => {
    await fm.getByLabel('Service account name').fill('ci');
    await fm.getByLabel('Or choose the public key file').setInputFiles(SA_PUB);
  }, 'Create service account');
  await pa.getByRole('cell', { name: 'ci', exact: true }).waitFor();
  await shot(pa, 'service-accounts');
  // rotate with a pasted key, then a second account to delete
  const v1 = await pa.getByRole('row').filter({ hasText: 'ci' }).getByText('v1').count();
  check(v1 === 1, 'the new account has key version 1');
  await pa.getByRole('button', { name: 'Rotate key of ci' }).click();
  await submitForm(pa, 'Rotate the key of ci', (fm) => fm.getByLabel('Public key (PEM)').fill(readFileSync(SA_PUB2, 'utf8')), 'Rotate key');
  await pa.getByRole('row').filter({ hasText: 'ci' }).getByText('v2').waitFor();
  await submitForm(pa, 'Create a service account', async (fm) => {
    await fm.getByLabel('Service account name').fill('old-ci');
    await fm.getByLabel('Public key (PEM)').fill(readFileSync(SA_PUB3, 'utf8'));
  }, 'Create service account');
  await pa.getByRole('cell', { name: 'old-ci', exact: true }).waitFor();
  await pa.getByRole('button', { name: 'Delete service account old-ci' }).click();
  // the list is redrawn: old-ci goes, then ci comes back alone
  await pa.getByRole('cell', { name: 'old-ci', exact: true }).waitFor({ state: 'detached' });
  await pa.getByRole('cell', { name: 'ci', exact: true }).waitFor();
  check(await pa.getByRole('cell', { name: 'old-ci', exact: true }).count() === 0, 'the deleted account stays gone');

  // API keys: created, shown once, revoked
  await nav(pa, 'API keys');
  await checkLabels(pa, 'apikeys');
  f = await submitForm(pa, 'Create an API key', async (fm) => {
    await fm.getByLabel('Description').fill('browser test');
    await fm.getByLabel('Expires in (optional)').fill('30d');
  }, 'Create API key');
  const newKey = (await f.locator('.secret code').textContent()).trim();
  check(/^snk_/.test(newKey), 'new API key shown once');
  await shot(pa, 'apikeys-created');
  await f.getByRole('button', { name: 'Done: refresh the list' }).click();
  const id = newKey.slice(4, 20);
  await pa.getByRole('button', { name: `Revoke key_${id}` }).click();
  await pa.getByRole('row').filter({ hasText: `key_${id}` }).getByText('revoked').waitFor();
  await shot(pa, 'apikeys');

  await nav(pa, 'Certificate authorities');
  await pa.getByRole('heading', { name: /signet-root/ }).waitFor();
  await shot(pa, 'ca');
  await nav(pa, 'Signing keys');
  await checkLabels(pa, 'keys');
  await shot(pa, 'keys');

  // ---- 3. CSRF: the session cookie alone changes nothing
  step = 'csrf';
  {
    const r = await A.ctx.request.post('/v1/projects', { data: { name: 'csrf-victim' } });
    check(r.status() === 403, `POST without X-CSRF-Token: ${r.status()}`);
    const r2 = await A.ctx.request.post('/v1/projects', { data: { name: 'csrf-victim' }, headers: { 'X-CSRF-Token': 'A'.repeat(43) } });
    check(r2.status() === 403, `POST with a wrong X-CSRF-Token: ${r2.status()}`);
    const r3 = await A.ctx.request.delete('/v1/session');
    check(r3.status() === 403, `sign-out without the token: ${r3.status()}`);
    const list = await (await A.ctx.request.get('/v1/projects')).json();
    check(!list.projects.some((p) => p.name === 'csrf-victim'), 'no project was created without the token');
    const s = await (await A.ctx.request.get('/v1/session')).json();
    const r4 = await A.ctx.request.post('/v1/projects', { data: { name: 'csrf-ok' }, headers: { 'X-CSRF-Token': s.csrf_token } });
    check(r4.status() === 201, `POST with the token: ${r4.status()}`);
    // a session secret is no bearer credential
    const r5 = await A.ctx.request.get('/v1/me', { headers: { Authorization: `Bearer ${sc.value}` } });
    check(r5.status() === 401, `session secret as a bearer: ${r5.status()}`);
  }

  // ---- 4. the signer, at phone width, signing in with the keyboard
  step = 'signer';
  const S = await newContext(PHONE);
  const ps = S.pg;
  await signIn(ps, signerKey, { keyboard: true });
  await ps.getByRole('cell', { name: 'firmware/release', exact: true }).waitFor();
  const uri = (await ps.locator('.uri code').first().textContent()).trim();
  check(uri === uriAdmin, `signer sees the key's URI (${uri})`);
  await ps.getByRole('button', { name: 'Copy URI of firmware/release' }).click();
  const clip = await ps.evaluate(() => navigator.clipboard.readText());
  check(clip === uriAdmin, `copy button copies the URI (${clip})`);
  await ps.getByRole('button', { name: 'Copy module path' }).click();
  const mod = await ps.evaluate(() => navigator.clipboard.readText());
  check(/signet-pkcs11\.so$/.test(mod), `copy button copies the module path (${mod})`);
  check(!(await ps.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).count()), 'a user has no Users page in the menu');
  await shot(ps, 'phone-home');
  await ps.getByRole('button', { name: 'Menu' }).click();
  await shot(ps, 'phone-menu');
  await ps.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects', exact: true }).click();
  await ps.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
  await shot(ps, 'phone-projects');
  // the same authz_check as the API: a signer cannot revoke
  await ps.goto(keyUrl);
  await ps.getByRole('heading', { name: 'Key firmware/release' }).waitFor();
  check(await ps.getByRole('button', { name: 'Disable key' }).count() === 0, 'a signer is offered no Disable button');
  await shot(ps, 'phone-key');
  {
    const tok = (await (await S.ctx.request.get('/v1/session')).json()).csrf_token;
    const r = await S.ctx.request.post(`/v1/keys/${keyUrl.split('/').pop()}/disable`, { data: {}, headers: { 'X-CSRF-Token': tok } });
    check(r.status() === 403, `a signer's session cannot disable the key: ${r.status()}`);
  }
  // the signer is not admin: the audit page refuses
  await ps.goto('/audit');
  await ps.getByText(/permission denied/).waitFor();

  // ---- 5. revoke the key; the signer no longer sees it
  step = 'revoke';
  await pa.goto(keyUrl);
  await pa.getByRole('button', { name: 'Revoke key…' }).click();
  await shot(pa, 'key-revoke-confirm');
  await pa.getByRole('button', { name: 'Yes, revoke the key' }).click();
  await pa.getByText('This key is revoked: revocation is final.').waitFor();
  check(await pa.locator('.badge-revoked').first().isVisible(), 'state shows revoked');
  await shot(pa, 'key-revoked');
  await ps.goto('/');
  await ps.getByRole('heading', { name: 'Keys you can sign with' }).waitFor();
  check(!(await ps.getByRole('cell', { name: 'firmware/release', exact: true }).count()), 'a revoked key is gone from My keys');

  // ---- 6. the audit view finds the events
  step = 'audit';
  await nav(pa, 'Audit trail');
  await checkLabels(pa, 'audit');
  await pa.getByText(/The hash chain verifies/).waitFor();
  await submitForm(pa, 'Filter events', (fm) => fm.getByLabel('Key (PROJECT/KEY or id)').fill('firmware/release'), 'Apply filter');
  await pa.getByRole('cell', { name: 'key.revoke', exact: true }).waitFor();
  check(await pa.getByRole('cell', { name: 'key.create', exact: true }).count() === 1, 'key.create in the key\'s events');
  await shot(pa, 'audit');
  await pa.goto('/audit');
  await submitForm(pa, 'Filter events', (fm) => fm.getByLabel('Action').fill('session.create'), 'Apply filter');
  await pa.getByRole('heading', { level: 1, name: 'Audit trail' }).waitFor();
  await pa.waitForLoadState('networkidle');
  const n = await pa.getByRole('cell', { name: 'session.create', exact: true }).count();
  check(n >= 2, `session.create events for admin and signer (${n})`);
  check(await pa.getByRole('cell', { name: 'key.create', exact: true }).count() === 0, 'the action filter filters');
  await pa.goto('/audit?action=bad%20action');
  await pa.getByText(/'action' must be/).waitFor();
  // paging (50 a page; 10 here), Next page moves on and back
  await pa.goto('/audit?limit=10');
  await pa.getByRole('link', { name: 'Next page' }).click();
  await pa.getByRole('link', { name: 'Previous page' }).waitFor();
  await pa.getByRole('link', { name: 'Previous page' }).click();
  await pa.getByRole('cell', { name: 'tenant.create', exact: true }).waitFor();

  // ---- 7. a disabled user's session stops working
  step = 'disable';
  await nav(pa, 'Users');
  await pa.getByRole('button', { name: 'Disable signer@acme.test' }).click();
  await pa.getByRole('row').filter({ hasText: 'signer@acme.test' }).getByText('disabled').waitFor();
  const rme = await S.ctx.request.get('/v1/me');
  check(rme.status() === 401, `disabled user's session: /v1/me ${rme.status()}`);
  await ps.goto('/projects');
  check(new URL(ps.url()).pathname === '/signin', `disabled user's page view lands on ${ps.url()}`);

  // ---- 8. sign-out ends the session
  step = 'signout';
  await pa.getByRole('button', { name: 'Sign out' }).click();
  await pa.waitForURL(`${ORIGIN}/signin`);
  await pa.goto('/keys');
  check(new URL(pa.url()).pathname === '/signin', 'after sign-out no page is reachable');
  // the old cookie, replayed, is dead
  await A.ctx.addCookies([{ ...sc }]);
  const rr = await A.ctx.request.get('/v1/me');
  check(rr.status() === 401, `an ended session's cookie replayed: ${rr.status()}`);

  await S.ctx.close();
  await A.ctx.close();
} catch (e) {
  failures++;
  console.error(`FAIL [console] ${step}: ${e.stack || e}`);
} finally {
  await persistent.close();
  rmSync(profile, { recursive: true, force: true });
}
log(failures === 0 ? 'console: all checks passed' : `console: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
