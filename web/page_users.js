// page_users.js - users (admins): list, create (the first API key shown
// once), disable.
import { api, apiAll, seg } from './api.js';
import { nav } from './state.js';
import { actionButton, badge, form, h, page, section, secretOnce, statusArea, table, when } from './ui.js';

export async function usersPage() {
  const { users } = await apiAll('/v1/users', 'users');
  const area = statusArea();
  return page('Users',
    section('Create a user', form({
      label: 'Create a user',
      submit: 'Create user',
      fields: [
        { name: 'email', label: 'Email', type: 'email', required: true },
        { name: 'role', label: 'Role', type: 'select', options: [['user', 'user'], ['admin', 'admin']] },
      ],
      onSubmit: async (v) => {
        const r = await api('POST', '/v1/users', { email: v.email, role: v.role });
        return [h('p', {}, `Created ${r.user.email}. Give them this API key to sign in:`), secretOnce(r.api_key.key, 'API key')];
      },
    })),
    section(`Users (${users.length})`,
      h('p', {}, h('button', { type: 'button', onclick: () => nav.render() }, 'Refresh list')),
      table({
        caption: 'Users',
        rows: users,
        columns: [
          { label: 'Email', render: (u) => u.email },
          { label: 'Role', render: (u) => u.role },
          { label: 'State', render: (u) => badge(u.disabled ? 'disabled' : 'active') },
          { label: 'Created', render: (u) => when(u.created_at) },
          {
            label: 'Actions',
            render: (u) => (u.disabled ? '—' : actionButton('Disable', async () => {
              if (!confirm(`Disable ${u.email}? Their API keys and sessions stop working at once.`)) return;
              await api('POST', `/v1/users/${seg(u.id)}/disable`, {});
              nav.render();
            }, { area, cls: 'danger', label: `Disable ${u.email}` })),
          },
        ],
      }),
      area));
}
