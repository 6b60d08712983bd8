// page_signin.js - paste an API key, get a session cookie. The key goes to
// POST /v1/session once and is dropped: nothing of it stays in the page,
// in storage or in the history.
import { api } from './api.js';
import { form, h } from './ui.js';

export function signinPage() {
  const expired = new URLSearchParams(location.search).has('expired');
  const f = form({
    label: 'Sign in',
    submit: 'Sign in',
    fields: [{
      name: 'api_key', label: 'API key', type: 'password', required: true,
      autocomplete: 'off', placeholder: 'snk_…',
      help: 'Your API key, from signetd init, signet user create or signet apikey create. It is used once to open a session and is not stored in the browser.',
    }],
    onSubmit: async (v) => {
      await api('POST', '/v1/session', { api_key: v.api_key }, { signin: true });
      f.reset();
      location.assign('/');
    },
  });
  return h('div', { class: 'signin' },
    h('h1', { id: 'page-title', tabindex: '-1' }, 'Sign in to Signet'),
    expired ? h('p', { class: 'status info' }, 'Your session has ended. Sign in again.') : null,
    f,
    h('p', { class: 'hint' }, 'Sessions end after 30 idle minutes, 12 hours after sign-in, at sign-out, and when the API key is revoked.'));
}
