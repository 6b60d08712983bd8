// state.js - what every page may read about the signed-in session, and a
// way to navigate (set by app.js), kept apart to avoid import cycles.
export const session = { user: null, pkcs11Module: null };
export const nav = { go: (path) => location.assign(path), render: () => location.reload() };
