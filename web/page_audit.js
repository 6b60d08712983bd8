// page_audit.js - the audit trail (admins): filter by key, actor, action
// and time, page through, and the result of verifying the hash chain.
import { api } from './api.js';
import { nav } from './state.js';
import { badge, form, h, link, page, section, table, when } from './ui.js';

const PAGE = 50;

function toRfc3339(local) {
  if (!local) return '';
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) throw new Error('not a valid time');
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function auditPage() {
  const params = new URLSearchParams(location.search);
  const q = new URLSearchParams();
  for (const k of ['key', 'actor', 'action', 'since', 'until', 'after']) if (params.get(k)) q.set(k, params.get(k));
  const limit = /^\d{1,4}$/.test(params.get('limit') || '') ? params.get('limit') : String(PAGE);
  q.set('limit', limit);
  const [list, verify] = await Promise.all([api('GET', `/v1/audit?${q}`), api('GET', '/v1/audit/verify')]);
  const back = params.get('back') ? params.get('back').split(',') : [];
  const withParams = (changes) => {
    const n = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) if (v) n.set(k, v); else n.delete(k);
    return `/audit?${n}`;
  };
  const after = params.get('after') || '';
  const next = list.next_after !== null ? withParams({ after: String(list.next_after), back: [...back, after || '0'].join(',') }) : null;
  const prevAfter = back.length ? back[back.length - 1] : null;
  const prev = prevAfter !== null ? withParams({ after: prevAfter === '0' ? '' : prevAfter, back: back.slice(0, -1).join(',') }) : null;

  return page('Audit trail',
    section('Chain verification',
      h('p', { class: verify.ok ? 'status ok' : 'status error', role: 'status' },
        verify.ok ? `The hash chain verifies: ${verify.events} events, none altered.`
          : `The hash chain is BROKEN at event ${verify.first_bad_seq} (${verify.events} events).`)),
    section('Filter', form({
      label: 'Filter events',
      submit: 'Apply filter',
      reset: false,
      fields: [
        { name: 'key', label: 'Key (PROJECT/KEY or id)', value: params.get('key') || '' },
        { name: 'actor', label: 'Actor (email, service account or id)', value: params.get('actor') || '' },
        { name: 'action', label: 'Action', value: params.get('action') || '', placeholder: 'key.sign' },
        { name: 'since', label: 'Since', type: 'datetime-local', value: params.get('since_local') || '' },
        { name: 'until', label: 'Until', type: 'datetime-local', value: params.get('until_local') || '' },
      ],
      onSubmit: async (v) => {
        const n = new URLSearchParams();
        for (const k of ['key', 'actor', 'action']) if (v[k]) n.set(k, v[k]);
        if (v.since) { n.set('since', toRfc3339(v.since)); n.set('since_local', v.since); }
        if (v.until) { n.set('until', toRfc3339(v.until)); n.set('until_local', v.until); }
        nav.go(`/audit?${n}`);
      },
    }), h('p', {}, link('/audit', 'Clear filters'))),
    section('Events',
      table({
        caption: 'Audit events',
        rows: list.events,
        pageSize: Number(limit),
        empty: 'No events match.',
        columns: [
          { label: 'Seq', render: (e) => String(e.seq) },
          { label: 'Time', render: (e) => when(e.time) },
          { label: 'Actor', render: (e) => `${e.actor_type}${e.actor_id ? ` ${e.actor_id}` : ''}` },
          { label: 'Action', render: (e) => e.action },
          { label: 'Object', render: (e) => (e.object_type ? `${e.object_type} ${e.object_id}` : '—') },
          { label: 'Result', render: (e) => badge(e.result) },
          {
            label: 'Details',
            render: (e) => {
              const n = Object.keys(e.details || {}).length;
              return n === 0 ? '—' : h('details', {}, h('summary', {}, `${n} field${n === 1 ? '' : 's'}`),
                h('pre', { class: 'details-json' }, JSON.stringify(e.details, null, 2)));
            },
          },
        ],
      }),
      h('div', { class: 'pager', role: 'navigation', 'aria-label': 'Audit pages' },
        prev !== null ? link(prev, 'Previous page') : h('span', {}, ''),
        h('span', {}, `${list.events.length} event(s) on this page`),
        next ? link(next, 'Next page') : h('span', {}, 'Last page'))));
}
