// page_projects.js - projects: list and create; one project's owners,
// signers (add, remove) and keys.
import { api, apiAll, seg } from './api.js';
import { managesProject, nav, session } from './state.js';
import { actionButton, badge, form, h, link, page, section, statusArea, table, when } from './ui.js';
import { keyCreateForm } from './page_keys.js';

export async function projectsPage() {
  const { projects } = await apiAll('/v1/projects', 'projects');
  const parts = [section(`Projects (${projects.length})`,
    h('p', {}, 'A project groups signing keys and says who may use them: its owners manage it, its signers sign with every key in it.'),
    table({
      caption: 'Projects',
      rows: projects,
      empty: 'No projects you own or sign for.',
      columns: [
        { label: 'Name', render: (p) => link(`/projects/${seg(p.id)}`, p.name) },
        { label: 'Owners', render: (p) => p.owners.map((o) => `${o.name} (${o.type})`).join(', ') || '—' },
        { label: 'Created', render: (p) => when(p.created_at) },
      ],
    }))];
  if (session.user.role === 'admin') {
    parts.unshift(section('Create a project', form({
      label: 'Create a project',
      submit: 'Create project',
      fields: [{ name: 'name', label: 'Project name', required: true, help: 'Letters, digits, . _ - (up to 64).' }],
      onSubmit: async (v) => {
        const { project } = await api('POST', '/v1/projects', { name: v.name });
        nav.go(`/projects/${seg(project.id)}`);
      },
    })));
  }
  return page('Projects', parts);
}

const principalTypes = [['user', 'User (email)'], ['team', 'Team (name)'], ['service_account', 'Service account (name)']];

export async function projectPage(id) {
  const { project } = await api('GET', `/v1/projects/${seg(id)}`);
  const pid = seg(project.id);
  const manage = await managesProject(project, api);
  const [{ keys }, signers] = await Promise.all([
    apiAll(`/v1/keys?project=${pid}`, 'keys'),
    manage ? api('GET', `/v1/projects/${pid}/signers`).then((r) => r.signers) : null,
  ]);
  const signerArea = statusArea();

  const owners = section('Owners',
    table({
      caption: 'Owners',
      rows: project.owners,
      empty: 'No owners: only admins manage this project.',
      columns: [
        { label: 'Owner', render: (o) => o.name },
        { label: 'Type', render: (o) => o.type },
      ],
    }),
    manage ? form({
      label: 'Add an owner',
      submit: 'Add owner',
      fields: [
        { name: 'type', label: 'Owner type', type: 'select', options: principalTypes.slice(0, 2) },
        { name: 'who', label: 'Owner (email or team name)', required: true },
      ],
      onSubmit: async (v) => {
        await api('POST', `/v1/projects/${pid}/owners`, { [v.type]: v.who });
        nav.render();
      },
    }) : null);

  const signerSection = manage ? section('Authorized signers',
    h('p', {}, 'Signers may sign with every active key of this project. Being admin does not make one a signer.'),
    table({
      caption: 'Signers',
      rows: signers,
      empty: 'No signers yet: nobody can sign with these keys.',
      columns: [
        { label: 'Signer', render: (s) => s.name },
        { label: 'Type', render: (s) => s.type.replace('_', ' ') },
        {
          label: 'Actions',
          render: (s) => actionButton('Remove', async () => {
            await api('DELETE', `/v1/projects/${pid}/signers/${seg(s.type)}/${seg(s.id)}`);
            nav.render();
          }, { area: signerArea, label: `Remove signer ${s.name}` }),
        },
      ],
    }),
    signerArea,
    form({
      label: 'Add a signer',
      submit: 'Add signer',
      fields: [
        { name: 'type', label: 'Signer type', type: 'select', options: principalTypes },
        { name: 'who', label: 'Signer (email or name)', required: true },
      ],
      onSubmit: async (v) => {
        await api('POST', `/v1/projects/${pid}/signers`, { [v.type]: v.who });
        nav.render();
      },
    })) : null;

  const keySection = section(`Signing keys (${keys.length})`,
    table({
      caption: 'Signing keys of this project',
      rows: keys,
      empty: 'No keys yet.',
      columns: [
        { label: 'Key', render: (k) => link(`/keys/${seg(k.id)}`, k.name) },
        { label: 'Algorithm', render: (k) => k.algorithm },
        { label: 'State', render: (k) => badge(k.state) },
        { label: 'CA', render: (k) => k.ca },
        { label: 'Valid until', render: (k) => when(k.not_after) },
      ],
    }));
  const createKey = manage ? section('Create a signing key', keyCreateForm([[project.id, project.name]], project.id)) : null;
  return page(`Project ${project.name}`,
    h('p', {}, link('/projects', '← All projects')),
    keySection, createKey, signerSection, owners);
}
