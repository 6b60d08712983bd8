// page_ca.js - the tenant's certificate authorities: the root certificate
// verifiers trust, and the issuing CA, each to download or copy.
import { api } from './api.js';
import { copyButton, download, h, page, section, when } from './ui.js';

export async function caPage() {
  const { cas } = await api('GET', '/v1/ca');
  return page('Certificate authorities',
    h('p', {}, 'Verifiers of Signet certificates trust the root CA. The same certificate comes from ', h('code', {}, 'signet ca cert'), '.'),
    cas.map((ca) => section(`${ca.name} (${ca.role})`,
      h('dl', { class: 'details' },
        h('dt', {}, 'Subject'), h('dd', {}, ca.subject),
        h('dt', {}, 'Algorithm'), h('dd', {}, ca.algorithm),
        h('dt', {}, 'Valid'), h('dd', {}, when(ca.not_before), ' to ', when(ca.not_after)),
        h('dt', {}, 'CRL'), h('dd', {}, h('a', { href: `/v1/ca/${encodeURIComponent(ca.id)}/crl` }, `/v1/ca/${ca.id}/crl`))),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', onclick: () => download(`${ca.name}.pem`, ca.certificate) }, `Download ${ca.name} certificate`),
        copyButton(ca.certificate, `Copy ${ca.name} certificate`)),
      h('details', {}, h('summary', {}, 'Show PEM'), h('pre', {}, ca.certificate)))));
}
