// page_keys.js - signing keys: list, create (algorithm, validity, CA); one
// key's state, PKCS#11 URI, certificate and chain download, disable /
// enable / revoke, and CSR + certificate import for external CAs.
import { api, apiAll, seg } from './api.js';
import { managesProject, nav } from './state.js';
import {
  actionButton, badge, clear, copyable, download, fileText, form, h, link, page,
  section, statusArea, table, when,
} from './ui.js';

const ALGORITHMS = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'];

// The create form; projects: [[id, name]], preselected: a project id.
export function keyCreateForm(projects, preselected) {
  return form({
    label: 'Create a signing key',
    submit: 'Create key',
    fields: [
      { name: 'project', label: 'Project', type: 'select', options: projects, value: preselected, required: true },
      { name: 'name', label: 'Key name', required: true, help: 'Letters, digits, . _ - (up to 64).' },
      { name: 'algorithm', label: 'Algorithm', type: 'select', options: ALGORITHMS.map((a) => [a, a]) },
      { name: 'validity', label: 'Validity', value: '1y', help: 'A duration: 90d, 12h, 2w, 1y (at most 30 years).' },
      {
        name: 'ca', label: 'Certificate authority', type: 'select',
        options: [['builtin', 'Built-in CA (certificate issued now)'], ['external', 'External CA (CSR, then import the chain)'], ['none', 'None (bare key)']],
      },
      { name: 'subject', label: 'Subject DN (optional)', placeholder: 'CN=Release, O=Example', help: 'Default: CN=<key name>, O=<tenant>.' },
    ],
    onSubmit: async (v) => {
      const body = { project: v.project, name: v.name, algorithm: v.algorithm, ca: v.ca };
      if (v.validity) body.validity = v.validity;
      if (v.subject) body.subject = v.subject;
      const { key } = await api('POST', '/v1/keys', body);
      nav.go(`/keys/${seg(key.id)}`);
    },
  });
}

export async function keysPage() {
  const [{ keys }, { projects }] = await Promise.all([apiAll('/v1/keys', 'keys'), apiAll('/v1/projects', 'projects')]);
  return page('Signing keys',
    section(`Keys you can see (${keys.length})`,
      table({
        caption: 'Signing keys',
        rows: keys,
        empty: 'No keys you own or sign with.',
        columns: [
          { label: 'Key', render: (k) => link(`/keys/${seg(k.id)}`, `${k.project.name}/${k.name}`) },
          { label: 'Algorithm', render: (k) => k.algorithm },
          { label: 'State', render: (k) => badge(k.state) },
          { label: 'CA', render: (k) => k.ca },
          { label: 'Valid until', render: (k) => when(k.not_after) },
        ],
      })),
    projects.length > 0 ? section('Create a signing key',
      h('p', {}, 'The key pair is generated inside the HSM and never leaves it. Only admins and the project\'s owners may create keys.'),
      keyCreateForm(projects.map((p) => [p.id, p.name]))) : null);
}

function details(k) {
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return h('dl', { class: 'details' },
    row('Name', `${k.project.name}/${k.name}`),
    row('Project', link(`/projects/${seg(k.project.id)}`, k.project.name)),
    row('State', badge(k.state)),
    row('Algorithm', k.algorithm),
    row('Valid', [when(k.not_before), ' to ', when(k.not_after)]),
    row('Certificate authority', k.ca),
    row('Subject', k.subject || '—'),
    row('Certificate serial', k.certificate_serial || '—'),
    row('SHA-1 allowed', k.allow_sha1 ? 'yes' : 'no'),
    row('Key id', h('code', {}, k.id)),
    row('Created', when(k.created_at)),
    k.revoked_at ? row('Revoked', when(k.revoked_at)) : null);
}

export async function keyPage(id) {
  const { key: k } = await api('GET', `/v1/keys/${seg(id)}`);
  const kid = seg(k.id);
  const fname = `${k.project.name}-${k.name}`;
  const cert = k.certificate ? await api('GET', `/v1/keys/${kid}/certificate`).catch(() => null) : null;
  const { project } = await api('GET', `/v1/projects/${seg(k.project.id)}`);
  const canManage = await managesProject(project, api);

  const certSection = section('Certificate',
    cert ? [
      h('p', {}, `Issued by the ${k.ca} CA; the chain has ${cert.chain.length} CA certificate(s).`),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', onclick: () => download(`${fname}.crt.pem`, cert.certificate) }, 'Download certificate'),
        h('button', { type: 'button', onclick: () => download(`${fname}.chain.pem`, [cert.certificate, ...cert.chain].join('')) }, 'Download certificate and chain')),
      h('details', {}, h('summary', {}, 'Show certificate PEM'), h('pre', {}, cert.certificate)),
    ] : h('p', {}, k.ca === 'external' ? 'No certificate yet: get a CSR below, have your CA sign it, then import the chain.' : 'This key has no certificate.'),
    h('details', {}, h('summary', {}, 'Show public key PEM'), h('pre', {}, k.public_key)));

  const manageArea = statusArea();
  const confirmBox = h('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Confirm revocation' },
    h('p', {}, h('strong', {}, 'Revoke this key for good?'), ' It will never sign again and its certificate goes on the CRL.'),
    actionButton('Yes, revoke the key', async () => {
      await api('POST', `/v1/keys/${kid}/revoke`, {});
      nav.render();
    }, { area: manageArea, cls: 'danger' }),
    h('button', { type: 'button', onclick: () => { confirmBox.hidden = true; } }, 'Cancel'));
  const stateAction = (verb) => actionButton(`${verb[0].toUpperCase()}${verb.slice(1)} key`, async () => {
    await api('POST', `/v1/keys/${kid}/${verb}`, {});
    nav.render();
  }, { area: manageArea });
  const revoked = k.state === 'revoked';
  const manage = !canManage ? null : section('Manage',
    revoked ? h('p', {}, 'This key is revoked: revocation is final.') : h('div', { class: 'buttons' },
      k.state === 'disabled' ? stateAction('enable') : stateAction('disable'),
      h('button', { type: 'button', class: 'danger', onclick: () => { confirmBox.hidden = false; confirmBox.querySelector('button').focus(); } }, 'Revoke key…')),
    confirmBox, manageArea);

  const external = canManage && (k.ca === 'external' || k.ca === 'none') && !revoked ? section('External CA',
    csrBlock(kid, k, fname), importForm(kid)) : null;

  return page(`Key ${k.project.name}/${k.name}`,
    h('p', {}, link('/keys', '← All keys')),
    section('Details', details(k),
      h('h3', {}, 'PKCS#11 URI'), copyable(k.pkcs11_uri, 'Copy PKCS#11 URI')),
    certSection, manage, external);
}

function csrBlock(kid, k, fname) {
  const out = h('div', {});
  const f = form({
    label: 'Get a CSR',
    submit: 'Get CSR',
    reset: false,
    fields: [{ name: 'subject', label: 'CSR subject DN (optional)', placeholder: k.subject || '' }],
    onSubmit: async (v) => {
      const { csr } = await api('POST', `/v1/keys/${kid}/csr`, v.subject ? { subject: v.subject } : {});
      clear(out, h('pre', { class: 'pem' }, csr),
        h('button', { type: 'button', onclick: () => download(`${fname}.csr.pem`, csr) }, 'Download CSR'));
      return 'CSR signed inside the HSM. Send it to your CA.';
    },
  });
  return h('div', {}, h('h3', {}, 'Certificate signing request'), f, out);
}

function importForm(kid) {
  return h('div', {}, h('h3', {}, 'Import the issued certificate chain'), form({
    label: 'Import certificate chain',
    submit: 'Import chain',
    fields: [
      { name: 'chain', label: 'Certificate chain (PEM: leaf first, then the CA certificates)', type: 'textarea', rows: 6 },
      { name: 'file', label: 'Or choose a PEM file', type: 'file', accept: '.pem,.crt,.cer,.txt' },
    ],
    onSubmit: async (v) => {
      const chain = v.file ? await fileText(v.file) : v.chain;
      if (!chain) throw new Error('paste the chain or choose a file');
      await api('PUT', `/v1/keys/${kid}/certificate`, { chain });
      nav.render();
    },
  }));
}
