// The console's single page: hash routes, one view at a time, live updates over server-sent events.
import { api, esc, me, signIn } from './lib.js';
import * as mapView from './views/map.js';
import * as casesView from './views/cases.js';
import * as caseView from './views/case.js';
import * as tracesView from './views/traces.js';
import * as traceView from './views/trace.js';
import * as healthView from './views/health.js';
import * as deadLettersView from './views/dead-letters.js';
import * as erasureView from './views/erasure.js';
import * as statisticsView from './views/statistics.js';

const routes = [
  [/^#\/map$/, mapView, 'map'],
  [/^#\/cases$/, casesView, 'cases'],
  [/^#\/cases\/(.+)$/, caseView, 'cases'],
  [/^#\/traces(?:\?.*)?$/, tracesView, 'traces'],
  [/^#\/trace\/([0-9a-f]{32})(?:\?.*)?$/, traceView, 'traces'],
  [/^#\/health$/, healthView, 'health'],
  [/^#\/dead-letters$/, deadLettersView, 'dead-letters'],
  [/^#\/erasure$/, erasureView, 'erasure'],
  [/^#\/statistics(?:\?.*)?$/, statisticsView, 'statistics'],
];

const main = document.getElementById('main');
let current;
const listeners = new Set();

/** What a view gets: where to draw, its route parameters, and live events. */
function context(params) {
  const own = new Set();
  return {
    params,
    query: new URLSearchParams(location.hash.split('?')[1] ?? ''),
    on(type, fn) {
      const entry = { type, fn };
      own.add(entry);
      listeners.add(entry);
    },
    dispose() {
      for (const e of own) listeners.delete(e);
    },
  };
}

async function render() {
  if (!location.hash || location.hash === '#' || location.hash === '#/') {
    location.replace('#/map');
    return;
  }
  current?.ctx.dispose();
  current?.view.dispose?.();
  const match = routes.find(([re]) => re.test(location.hash));
  for (const a of document.querySelectorAll('[data-nav]')) a.removeAttribute('aria-current');
  if (!match) {
    main.innerHTML = `<div class="panel empty">No such page: ${esc(location.hash)}. <a href="#/map">Back to the network</a></div>`;
    return;
  }
  const [re, view, nav] = match;
  document.querySelector(`[data-nav="${nav}"]`)?.setAttribute('aria-current', 'page');
  const params = re.exec(location.hash).slice(1).map(decodeURIComponent);
  const ctx = context(params);
  current = { view, ctx };
  // A fresh container per visit: a view still loading when the operator moves on draws into a
  // detached element instead of over the next page.
  const container = document.createElement('div');
  main.replaceChildren(container);
  await view.render(container, ctx);
}

window.addEventListener('hashchange', () => void render());

// Who is signed in (with an issuer the server sent a browser without a session to sign in first).
async function whoAmI() {
  const res = await fetch('/api/me', { headers: { Accept: 'application/json' } });
  if (res.status === 401) return signIn();
  Object.assign(me, await res.json());
  if (!me.signIn) return;
  const { person } = me;
  document.getElementById('who-name').textContent = person.displayName ?? person.username ?? person.sub;
  document.getElementById('who-name').title = `staff id ${person.sub} at ${person.agencyId}`;
  document.getElementById('who-roles').textContent = `(${person.roles.join(', ')})`;
  document.getElementById('who').hidden = false;
  document.getElementById('sign-out').addEventListener('click', async () => {
    const { location: next } = await api('/auth/logout', { body: {} });
    location.assign(next);
  });
  const back = sessionStorage.getItem('lotse.return');
  sessionStorage.removeItem('lotse.return');
  if (back && back !== location.hash) location.replace(back);
}
await whoAmI();
void render();

// Live updates: the server pushes deployment, stream, telemetry and dead-letter changes.
const live = document.getElementById('live');
function connect() {
  const source = new EventSource('/api/events');
  const set = (on, text) => {
    live.classList.toggle('on', on);
    live.classList.toggle('off', !on);
    live.querySelector('.live-text').textContent = text;
  };
  source.addEventListener('open', () => set(true, 'live'));
  source.addEventListener('error', () => {
    set(false, 'reconnecting…');
    // The stream ends with the session; whether that is why, /api/me says.
    if (me.signIn) void fetch('/api/me').then((res) => res.status === 401 && signIn());
  });
  for (const type of ['hello', 'deployments', 'streams', 'telemetry', 'dead-letters']) {
    source.addEventListener(type, (event) => {
      const data = JSON.parse(event.data);
      if (type === 'deployments') updateParkedCount(data);
      for (const l of listeners) if (l.type === type) l.fn(data);
    });
  }
}
connect();

function updateParkedCount(deployments) {
  const el = document.getElementById('parked-count');
  const total = deployments.reduce((n, d) => n + (d.outbox?.parked ?? 0), 0);
  el.hidden = total === 0;
  el.textContent = String(total);
  el.setAttribute('aria-label', `${total} parked messages`);
}
