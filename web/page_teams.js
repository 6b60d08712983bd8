// page_teams.js - teams: list and create; one team's members (add with or
// without the owner flag, remove).
import { api, apiAll, seg } from './api.js';
import { nav, session } from './state.js';
import { actionButton, form, h, link, page, section, statusArea, table, when } from './ui.js';

export async function teamsPage() {
  const { teams } = await apiAll('/v1/teams', 'teams');
  return page('Teams',
    session.user.role === 'admin' ? section('Create a team', form({
      label: 'Create a team',
      submit: 'Create team',
      fields: [{ name: 'name', label: 'Team name', required: true, help: 'Letters, digits, . _ - (up to 64).' }],
      onSubmit: async (v) => {
        const { team } = await api('POST', '/v1/teams', { name: v.name });
        nav.go(`/teams/${seg(team.id)}`);
      },
    })) : null,
    section(`Teams (${teams.length})`, table({
      caption: 'Teams',
      rows: teams,
      empty: 'You are not a member of any team.',
      columns: [
        { label: 'Name', render: (t) => link(`/teams/${seg(t.id)}`, t.name) },
        { label: 'Members', render: (t) => String(t.members.length) },
        { label: 'Owners', render: (t) => t.members.filter((m) => m.owner).map((m) => m.email).join(', ') || '—' },
        { label: 'Created', render: (t) => when(t.created_at) },
      ],
    })));
}

export async function teamPage(id) {
  const { team } = await api('GET', `/v1/teams/${seg(id)}`);
  const tid = seg(team.id);
  const me = team.members.find((m) => m.id === session.user.id);
  const manage = session.user.role === 'admin' || (me && me.owner);
  const area = statusArea();
  return page(`Team ${team.name}`,
    h('p', {}, link('/teams', '← All teams')),
    section(`Members (${team.members.length})`,
      table({
        caption: 'Members',
        rows: team.members,
        empty: 'No members yet.',
        columns: [
          { label: 'Email', render: (m) => m.email },
          { label: 'Role in team', render: (m) => (m.owner ? 'owner' : 'member') },
          manage ? {
            label: 'Actions',
            render: (m) => actionButton('Remove', async () => {
              await api('DELETE', `/v1/teams/${tid}/members/${seg(m.id)}`);
              nav.render();
            }, { area, label: `Remove member ${m.email}` }),
          } : null,
        ].filter(Boolean),
      }),
      area,
      manage ? form({
        label: 'Add a member',
        submit: 'Add member',
        fields: [
          { name: 'user', label: 'User email', type: 'email', required: true },
          { name: 'owner', label: 'Team owner (manages members)', type: 'checkbox' },
        ],
        onSubmit: async (v) => {
          await api('POST', `/v1/teams/${tid}/members`, { user: v.user, owner: v.owner });
          nav.render();
        },
      }) : null),
    section('Service accounts', h('p', {}, 'Members of this team manage its service accounts: ', link('/service-accounts', 'service accounts'), '.')));
}
