// ui.js - the few building blocks every page uses: elements, labelled
// forms whose errors appear beside them, paged tables, copy buttons and
// downloads. No inline styles or scripts anywhere (the CSP forbids them):
// only classes and the hidden attribute.

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

// h('button', {type: 'button', onclick: f}, 'Save')
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(e, ...children) {
  e.replaceChildren();
  append(e, children);
  return e;
}

// An internal link (the router picks it up: no page reload).
export const link = (href, text, attrs = {}) => h('a', { href, 'data-nav': '', ...attrs }, text);

export function page(title, ...children) {
  return [h('h1', { id: 'page-title', tabindex: '-1' }, title), ...children];
}

export function section(title, ...children) {
  const id = nextId('sec');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

// The error (or success) area of one form: announced, beside the form.
export function statusArea() {
  return h('div', { class: 'status', role: 'alert', 'aria-live': 'assertive', hidden: true });
}

export function showError(area, err) {
  clear(area, h('strong', {}, 'Error: '), err && err.message ? err.message : String(err));
  area.className = 'status error';
  area.hidden = false;
}

export function showOk(area, ...children) {
  clear(area, ...children);
  area.className = 'status ok';
  area.hidden = false;
}

export function hideStatus(area) {
  area.hidden = true;
  clear(area);
}

// One labelled control. f: {name, label, type: text|email|select|textarea|
// checkbox|file|password|datetime-local, options: [[value, text]], required,
// help, value, placeholder, autocomplete}
function control(f) {
  const id = nextId(`f-${f.name}`);
  const helpId = f.help ? `${id}-help` : undefined;
  let input;
  const common = { id, name: f.name, required: f.required, 'aria-describedby': helpId };
  if (f.type === 'select') {
    input = h('select', common, (f.options || []).map(([v, t]) =>
      h('option', { value: v, selected: String(f.value ?? '') === String(v) }, t)));
  } else if (f.type === 'textarea') {
    input = h('textarea', { ...common, rows: f.rows || 6, placeholder: f.placeholder, spellcheck: 'false' });
    if (f.value) input.value = f.value;
  } else if (f.type === 'checkbox') {
    input = h('input', { ...common, type: 'checkbox', checked: !!f.value });
  } else {
    input = h('input', {
      ...common, type: f.type || 'text', value: f.value, placeholder: f.placeholder,
      autocomplete: f.autocomplete || 'off', accept: f.accept, spellcheck: 'false',
    });
  }
  const lab = h('label', { for: id }, f.label, f.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
  const wrap = h('div', { class: `field field-${f.type || 'text'}` },
    f.type === 'checkbox' ? [input, lab] : [lab, input],
    f.help ? h('small', { id: helpId, class: 'help' }, f.help) : null);
  return { wrap, input };
}

// A form: fields, a submit button, and its own status area. onSubmit gets
// the values ({name: string|bool|File}) and may return a success message
// (string or nodes); a thrown ApiError is shown beside the form.
export function form({ label, fields, submit, onSubmit, reset = true, extra }) {
  const area = statusArea();
  const controls = fields.map(control);
  const btn = h('button', { type: 'submit', class: 'primary' }, submit);
  const f = h('form', { class: 'form', 'aria-label': label, novalidate: false },
    controls.map((c) => c.wrap), extra || null, h('div', { class: 'actions' }, btn), area);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const values = {};
    fields.forEach((fd, i) => {
      const inp = controls[i].input;
      if (fd.type === 'checkbox') values[fd.name] = inp.checked;
      else if (fd.type === 'file') values[fd.name] = inp.files && inp.files[0] ? inp.files[0] : null;
      else values[fd.name] = inp.value.trim();
    });
    btn.disabled = true;
    hideStatus(area);
    try {
      const msg = await onSubmit(values, f);
      if (reset) f.reset();
      if (msg) showOk(area, msg);
    } catch (e) {
      showError(area, e);
    } finally {
      btn.disabled = false;
    }
  });
  f.inputs = Object.fromEntries(fields.map((fd, i) => [fd.name, controls[i].input]));
  return f;
}

// A button that runs an async action; errors go to area (or its own).
export function actionButton(text, action, { area, cls = '', label } = {}) {
  const b = h('button', { type: 'button', class: cls, 'aria-label': label }, text);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await action();
    } catch (e) {
      if (area) showError(area, e);
      else alert(e.message);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

// A table that pages (pageSize rows a page) with labelled controls.
// columns: [{label, render(row) -> node|string}]
export function table({ caption, columns, rows, pageSize = 20, empty = 'Nothing here yet.' }) {
  const wrap = h('div', { class: 'table-wrap' });
  let pageNo = 0;
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  const draw = () => {
    const slice = rows.slice(pageNo * pageSize, (pageNo + 1) * pageSize);
    // Explicit roles: at phone width the CSS lays rows out as cards
    // (display: block), which would otherwise drop the table semantics.
    const t = h('table', { role: 'table' },
      h('caption', { class: caption ? '' : 'sr-only' }, caption || 'List'),
      h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, columns.map((c) => h('th', { scope: 'col', role: 'columnheader' }, c.label)))),
      h('tbody', { role: 'rowgroup' }, slice.length === 0
        ? h('tr', { role: 'row' }, h('td', { role: 'cell', colspan: columns.length, class: 'empty' }, empty))
        : slice.map((r) => h('tr', { role: 'row' }, columns.map((c) => h('td', { role: 'cell' },
          h('span', { class: 'cell-label', 'aria-hidden': 'true' }, c.label), c.render(r)))))));
    const nav = pages > 1 ? h('div', { class: 'pager', role: 'navigation', 'aria-label': `${caption || 'List'} pages` },
      h('button', { type: 'button', disabled: pageNo === 0, onclick: () => { pageNo--; draw(); } }, 'Previous page'),
      h('span', {}, `Page ${pageNo + 1} of ${pages} (${rows.length} in all)`),
      h('button', { type: 'button', disabled: pageNo >= pages - 1, onclick: () => { pageNo++; draw(); } }, 'Next page')) : null;
    clear(wrap, t, nav);
  };
  draw();
  return wrap;
}

// A copy button for text (a PKCS#11 URI, a module path, a secret).
export function copyButton(text, label) {
  const b = h('button', { type: 'button', class: 'copy' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = 'Copied';
    } catch (e) {
      b.textContent = 'Copy failed: select the text';
    }
    setTimeout(() => { b.textContent = label; }, 2000);
  });
  return b;
}

// Read-only text with a copy button beside it.
export function copyable(text, label) {
  return h('div', { class: 'copyable' }, h('code', {}, text), copyButton(text, label));
}

export function download(filename, text, type = 'application/x-pem-file') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadButton(text, filename, label) {
  return h('button', { type: 'button', onclick: () => download(filename, text) }, label);
}

// A secret shown once (new API keys): copy it now, it is never shown again.
export function secretOnce(secret, what) {
  return h('div', { class: 'secret' },
    h('p', {}, h('strong', {}, `The ${what} is shown only once.`), ' Copy it now: Signet keeps only its hash.'),
    copyable(secret, `Copy the ${what}`));
}

export function badge(state) {
  return h('span', { class: `badge badge-${state}` }, state);
}

export function when(t) {
  return t ? h('time', { datetime: t }, t.replace('T', ' ').replace('Z', ' UTC')) : '—';
}

// "30d" / "12h" / "2w" / "1y" / "3600" -> seconds (API keys' expires_in).
export function durationSeconds(s) {
  const m = /^(\d+)([smhdwy]?)$/.exec(s);
  if (!m) throw new Error('a duration is a number with s, m, h, d, w or y (e.g. 90d)');
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }[m[2]];
  return Number(m[1]) * mult;
}

// Text of a chosen file (public keys, certificate chains), bounded.
export async function fileText(file, max = 262144) {
  if (file.size > max) throw new Error(`the file is larger than ${max} bytes`);
  return file.text();
}
