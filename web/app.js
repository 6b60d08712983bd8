// app.js - boots the console: asks the server who is signed in (the
// session cookie travels by itself), keeps the CSRF token for api.js, draws
// the navigation and routes paths to pages without reloading.
//
// The server serves this shell only with a live session (else 303 to
// /signin); every piece of data still comes from the /v1 API, whose
// authz_check decides what this user may see or change.
import { api, setCsrf } from './api.js';
import { clear, h, link } from './ui.js';
import { forgetTeams, nav, session } from './state.js';
import { signinPage } from './page_signin.js';
import { homePage } from './page_home.js';
import { projectsPage, projectPage } from './page_projects.js';
import { keysPage, keyPage } from './page_keys.js';
import { teamsPage, teamPage } from './page_teams.js';
import { serviceAccountsPage } from './page_sa.js';
import { usersPage } from './page_users.js';
import { apikeysPage } from './page_apikeys.js';
import { caPage } from './page_ca.js';
import { auditPage } from './page_audit.js';

const NAV = [
  ['/', 'My keys', false],
  ['/projects', 'Projects', false],
  ['/keys', 'Signing keys', false],
  ['/teams', 'Teams', false],
  ['/service-accounts', 'Service accounts', false],
  ['/users', 'Users', true],
  ['/apikeys', 'API keys', false],
  ['/ca', 'Certificate authorities', false],
  ['/audit', 'Audit trail', true],
];

const ROUTES = [
  [/^\/$/, homePage],
  [/^\/projects$/, projectsPage],
  [/^\/projects\/([^/]+)$/, projectPage],
  [/^\/keys$/, keysPage],
  [/^\/keys\/([^/]+)$/, keyPage],
  [/^\/teams$/, teamsPage],
  [/^\/teams\/([^/]+)$/, teamPage],
  [/^\/service-accounts$/, serviceAccountsPage],
  [/^\/users$/, usersPage],
  [/^\/apikeys$/, apikeysPage],
  [/^\/ca$/, caPage],
  [/^\/audit$/, auditPage],
];

const main = () => document.getElementById('main');

function drawNav() {
  const nav = document.getElementById('nav');
  const items = NAV.filter(([, , adminOnly]) => !adminOnly || session.user.role === 'admin');
  clear(nav, h('ul', {}, items.map(([href, text]) => h('li', {}, link(href, text)))));
  markCurrent();
  document.getElementById('who').textContent = `${session.user.email} (${session.user.role})`;
  document.getElementById('top').hidden = false;
}

function markCurrent() {
  const path = location.pathname;
  for (const a of document.querySelectorAll('#nav a')) {
    const href = a.getAttribute('href');
    const cur = href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
    if (cur) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function render() {
  const path = location.pathname;
  const m = main();
  markCurrent();
  forgetTeams();	// memberships may have changed since the last page
  for (const [re, fn] of ROUTES) {
    const match = re.exec(path);
    if (!match) continue;
    clear(m, h('p', { class: 'loading' }, 'Loading…'));
    try {
      const params = match.slice(1).map(decodeURIComponent);
      clear(m, await fn(...params));
    } catch (e) {
      clear(m, h('h1', { id: 'page-title', tabindex: '-1' }, 'Cannot show this page'),
        h('p', { class: 'status error', role: 'alert' }, e.message));
    }
    const title = document.getElementById('page-title');
    document.title = `${title ? title.textContent : 'Signet'} · Signet`;
    if (title && navigated) title.focus();
    return;
  }
  clear(m, h('h1', { id: 'page-title', tabindex: '-1' }, 'No such page'), link('/', 'Go to my keys'));
}

let navigated = false;

function go(path) {
  history.pushState(null, '', path);
  navigated = true;
  closeMenu();
  render();
}

function closeMenu() {
  document.getElementById('nav').classList.remove('open');
  document.getElementById('menu-toggle').setAttribute('aria-expanded', 'false');
}

async function boot() {
  if (location.pathname === '/signin') {
    clear(main(), signinPage());
    return;
  }
  let s;
  try {
    s = await api('GET', '/v1/session');
  } catch (e) {
    return;	// api.js has sent us to /signin
  }
  setCsrf(s.csrf_token);
  session.user = s.user;
  session.pkcs11Module = s.pkcs11_module;
  drawNav();
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a[data-nav]');
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    go(a.getAttribute('href'));
  });
  window.addEventListener('popstate', () => { navigated = true; render(); });
  document.getElementById('menu-toggle').addEventListener('click', () => {
    const nav = document.getElementById('nav');
    const open = nav.classList.toggle('open');
    document.getElementById('menu-toggle').setAttribute('aria-expanded', String(open));
  });
  document.getElementById('signout').addEventListener('click', async () => {
    try { await api('DELETE', '/v1/session'); } catch (e) { /* already over */ }
    location.assign('/signin');
  });
  render();
}

nav.go = go;
nav.render = render;
boot();
