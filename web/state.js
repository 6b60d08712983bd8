// state.js - what every page may read about the signed-in session, and a
// way to navigate (set by app.js), kept apart to avoid import cycles.
export const session = { user: null, pkcs11Module: null };
export const nav = { go: (path) => location.assign(path), render: () => location.reload() };

// Whether the signed-in user manages a project (admin, a listed owner, or
// a member of an owner team) — only to decide which controls to show: the
// server's authz_check decides what actually happens.
let myTeams = null;
export async function managesProject(project, api) {
  if (session.user.role === 'admin') return true;
  if (myTeams === null) {
    // every page of the list (api.js apiAll's walk, inlined: no import)
    const teams = [];
    let cursor = null;
    for (let n = 0; n < 10000; n++) {
      const r = await api('GET', `/v1/teams?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      teams.push(...r.teams);
      if (typeof r.next_cursor !== 'string' || r.next_cursor === cursor) break;
      cursor = r.next_cursor;
    }
    myTeams = new Set(teams.map((t) => t.id));
  }
  return project.owners.some((o) => (o.type === 'user' && o.id === session.user.id) ||
    (o.type === 'team' && myTeams.has(o.id)));
}
export function forgetTeams() { myTeams = null; }
