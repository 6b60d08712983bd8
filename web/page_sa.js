// page_sa.js - service accounts: list, create with a pasted or uploaded
// public key (the private key stays on the signing machine: made there by
// `signet service-account keygen`), rotate the key, delete.
import { api, apiAll, seg } from './api.js';
import { nav } from './state.js';
import { actionButton, fileText, form, h, page, section, statusArea, table, when } from './ui.js';

async function publicKey(v) {
  const pem = v.file ? await fileText(v.file, 65536) : v.public_key;
  if (!pem) throw new Error('paste the public key or choose its file');
  return pem;
}

const keyFields = [
  { name: 'public_key', label: 'Public key (PEM)', type: 'textarea', rows: 5, placeholder: '-----BEGIN PUBLIC KEY-----' },
  { name: 'file', label: 'Or choose the public key file', type: 'file', accept: '.pem,.pub,.txt' },
];

export async function serviceAccountsPage() {
  const [{ service_accounts: sas }, { teams }] = await Promise.all([
    apiAll('/v1/serviceaccounts', 'service_accounts'), apiAll('/v1/teams', 'teams')]);
  const area = statusArea();
  const rotating = h('div', {});
  const rotate = (s) => {
    rotating.replaceChildren(h('h3', { id: 'rotate-title', tabindex: '-1' }, `Rotate the key of ${s.name}`),
      form({
        label: `Rotate the key of ${s.name}`,
        submit: 'Rotate key',
        fields: keyFields,
        onSubmit: async (v) => {
          await api('POST', `/v1/serviceaccounts/${seg(s.id)}/rotate-key`, { public_key: await publicKey(v) });
          nav.render();
        },
      }));
    document.getElementById('rotate-title').focus();
  };
  return page('Service accounts',
    h('p', {}, 'Build machines sign as service accounts. Make the key pair on the machine with ',
      h('code', {}, 'signet service-account keygen --out ci.key'), ' and register only its public key here.'),
    teams.length > 0 ? section('Create a service account', form({
      label: 'Create a service account',
      submit: 'Create service account',
      fields: [
        { name: 'name', label: 'Service account name', required: true },
        { name: 'team', label: 'Owning team', type: 'select', options: teams.map((t) => [t.id, t.name]) },
        ...keyFields,
      ],
      onSubmit: async (v) => {
        await api('POST', '/v1/serviceaccounts', { name: v.name, team: v.team, public_key: await publicKey(v) });
        nav.render();
      },
    })) : null,
    section(`Service accounts (${sas.length})`,
      table({
        caption: 'Service accounts',
        rows: sas,
        empty: 'No service accounts of your teams.',
        columns: [
          { label: 'Name', render: (s) => s.name },
          { label: 'Team', render: (s) => s.team.name },
          { label: 'Key', render: (s) => `${s.key_algorithm} v${s.key_version}` },
          { label: 'Fingerprint', render: (s) => h('code', { class: 'fp' }, s.key_fingerprint.slice(0, 16) + '…') },
          { label: 'Created', render: (s) => when(s.created_at) },
          {
            label: 'Actions',
            render: (s) => h('div', { class: 'buttons' },
              h('button', { type: 'button', 'aria-label': `Rotate key of ${s.name}`, onclick: () => rotate(s) }, 'Rotate key'),
              actionButton('Delete', async () => {
                if (!confirm(`Delete service account ${s.name}? Its tokens stop working at once.`)) return;
                await api('DELETE', `/v1/serviceaccounts/${seg(s.id)}`);
                nav.render();
              }, { area, cls: 'danger', label: `Delete service account ${s.name}` })),
          },
        ],
      }),
      area, rotating));
}
