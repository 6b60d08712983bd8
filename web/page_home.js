// page_home.js - "My keys": what a signer needs on a signing machine — the
// keys they may sign with right now, their PKCS#11 URIs and the module
// path, each with a copy button.
import { apiAll } from './api.js';
import { session } from './state.js';
import { badge, copyButton, copyable, h, link, page, section, table } from './ui.js';

export async function homePage() {
  const { keys } = await apiAll('/v1/me/keys', 'keys');
  const mod = session.pkcs11Module;
  return page('Keys you can sign with',
    section('Signing machine setup',
      h('p', {}, 'Tools load the Signet PKCS#11 module, which hashes locally and sends only digests to Signet. Its path when installed:'),
      copyable(mod, 'Copy module path'),
      h('p', {}, 'For example: ', h('code', {}, `pkcs11-tool --module ${mod} --list-objects`), ' or ', h('code', {}, 'signet keys'), '.')),
    section(`Keys (${keys.length})`,
      table({
        caption: 'Keys you may sign with',
        rows: keys,
        empty: 'You are not an authorized signer of any active key yet. A project owner or an admin can add you as a signer.',
        columns: [
          { label: 'Key', render: (k) => link(`/keys/${encodeURIComponent(k.id)}`, `${k.project.name}/${k.name}`) },
          { label: 'Algorithm', render: (k) => k.algorithm },
          { label: 'State', render: (k) => badge(k.state) },
          { label: 'Valid until', render: (k) => k.not_after.slice(0, 10) },
          {
            label: 'PKCS#11 URI',
            render: (k) => h('div', { class: 'uri' }, h('code', {}, k.pkcs11_uri),
              copyButton(k.pkcs11_uri, `Copy URI of ${k.project.name}/${k.name}`)),
          },
        ],
      })));
}
