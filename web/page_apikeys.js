// page_apikeys.js - the signed-in user's API keys (an admin may pick
// another user): create (the secret shown once), list, revoke.
import { api, seg } from './api.js';
import { nav, session } from './state.js';
import { actionButton, badge, durationSeconds, form, h, page, section, secretOnce, statusArea, table, when } from './ui.js';

export async function apikeysPage() {
  const who = new URLSearchParams(location.search).get('user');
  const q = who ? `?user=${seg(who)}` : '';
  const { apikeys } = await api('GET', `/v1/apikeys${q}`);
  const area = statusArea();
  const state = (k) => (k.revoked_at ? 'revoked' : k.expires_at && Date.parse(k.expires_at) <= Date.now() ? 'expired' : 'active');
  return page(who ? `API keys of ${who}` : 'My API keys',
    session.user.role === 'admin' ? form({
      label: 'Show the API keys of a user',
      submit: 'Show keys',
      fields: [{ name: 'user', label: 'User (email; empty for yourself)', type: 'email', value: who || '' }],
      reset: false,
      onSubmit: async (v) => nav.go(v.user ? `/apikeys?user=${seg(v.user)}` : '/apikeys'),
    }) : null,
    section('Create an API key', form({
      label: 'Create an API key',
      submit: 'Create API key',
      fields: [
        { name: 'description', label: 'Description', placeholder: 'laptop, release script, …' },
        { name: 'expires', label: 'Expires in (optional)', placeholder: '90d', help: 'A duration: 12h, 30d, 2w, 1y. Empty: never.' },
      ],
      onSubmit: async (v) => {
        const body = {};
        if (v.description) body.description = v.description;
        if (v.expires) body.expires_in = durationSeconds(v.expires);
        if (who) body.user = who;
        const r = await api('POST', '/v1/apikeys', body);
        return [h('p', {}, `Created ${r.id}.`), secretOnce(r.key, 'API key'),
          h('button', { type: 'button', onclick: () => nav.render() }, 'Done: refresh the list')];
      },
    })),
    section(`API keys (${apikeys.length})`,
      table({
        caption: 'API keys',
        rows: apikeys,
        columns: [
          { label: 'Id', render: (k) => h('code', {}, k.id) },
          { label: 'Description', render: (k) => k.description || '—' },
          { label: 'State', render: (k) => badge(state(k)) },
          { label: 'Created', render: (k) => when(k.created_at) },
          { label: 'Expires', render: (k) => when(k.expires_at) },
          { label: 'Last used', render: (k) => when(k.last_used_at) },
          {
            label: 'Actions',
            render: (k) => (k.revoked_at ? '—' : actionButton('Revoke', async () => {
              if (!confirm(`Revoke ${k.id}? Sessions opened with it end too.`)) return;
              await api('DELETE', `/v1/apikeys/${seg(k.id)}`);
              nav.render();
            }, { area, cls: 'danger', label: `Revoke ${k.id}` })),
          },
        ],
      }),
      area));
}
