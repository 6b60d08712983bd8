// api.js - the console's only way to the server: the same /v1 API the CLI
// uses, authenticated by the session cookie (HttpOnly: this script never
// sees it) and, on every change, the CSRF token the server handed us.
// The API key typed at sign-in is sent once and never stored.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function setCsrf(token) {
  csrfToken = token;
}

// api('GET', '/v1/keys') -> parsed JSON; throws ApiError with the server's
// message. A 401 (session over) sends the browser to the sign-in page.
export async function api(method, path, body, { raw = false, signin = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const opts = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  const text = await res.text();
  let data = null;
  if (!raw && text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : { code: 'error', message: `HTTP ${res.status}` };
    if (res.status === 401 && !signin) {
      location.assign('/signin?expired=1');
    }
    throw new ApiError(res.status, err.code, err.message);
  }
  return raw ? text : data;
}

// Path segments are ids or names the user typed: always encode them.
export const seg = (s) => encodeURIComponent(s);

// apiAll('/v1/projects', 'projects') -> { projects: [every item] }: the
// server answers lists a page at a time (docs/API.md "Paging"); this
// follows next_cursor to the end. call is api (or a stand-in with its
// signature), so state.js can use it without importing this module.
export async function apiAll(path, member, call = api) {
  const all = [];
  const seen = new Set();
  let cursor = null;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await call('GET', `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    all.push(...(r[member] || []));
    if (typeof r.next_cursor !== 'string' || seen.has(r.next_cursor)) break;
    seen.add(r.next_cursor);
    cursor = r.next_cursor;
  }
  return { [member]: all };
}
