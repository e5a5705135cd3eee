// Small helpers shared by the views: escaping, fetching, formatting, colours, charts.

/** Escapes text for use inside HTML (element content and quoted attributes). */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error ?? 'ERROR';
  }
}

/** Who is signed in ({ signIn, person, mayAct }), set once by app.js from /api/me. */
export const me = { signIn: false, person: null, mayAct: true };

/** Off to the issuer's login page; the view to come back to is kept for after. */
export function signIn() {
  sessionStorage.setItem('lotse.return', location.hash);
  location.assign('/auth/login?return=/');
}

export async function api(path, options = {}) {
  const init = { headers: { Accept: 'application/json' }, ...options };
  if (options.body !== undefined) {
    init.method = options.method ?? 'POST';
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
    init.body = JSON.stringify(options.body);
  }
  const res = await fetch(path, init);
  const body = await res.json().catch(() => ({}));
  // Signed in, a 401 means the session ended (with its token): sign in again.
  if (res.status === 401 && me.signIn) {
    signIn();
    throw new ApiError(res.status, body);
  }
  // Without sign-in replay and discard need the operator: ask for the console's token once, log
  // in (the server sets an HttpOnly cookie), and try again.
  if (res.status === 401 && body?.error === 'UNAUTHENTICATED' && path !== '/api/login' && !options.retried) {
    const token = window.prompt('Operator token of this console (printed by `pnpm start`, or in the console’s log):');
    if (token) {
      await api('/api/login', { body: { token } });
      return api(path, { ...options, retried: true });
    }
  }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

export function errorBox(error) {
  return `<div class="error-box" role="alert"><strong>${esc(error.code ?? 'Error')}</strong>: ${esc(error.message)}</div>`;
}

export function fmtDuration(us) {
  if (us === null || us === undefined) return '–';
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toLocaleString('en-GB', { day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fmtClock(ms) {
  return new Date(ms).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 5) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

const palette = ['#0b6e99', '#c2410c', '#15803d', '#7c3aed', '#b45309', '#0f766e', '#be185d', '#4d7c0f', '#1d4ed8', '#9f1239', '#475569', '#a16207'];
const assigned = new Map();
/** A stable colour per service name. */
export function colour(service) {
  if (!assigned.has(service)) {
    let h = 0;
    for (const c of service) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    // Prefer a colour no other service has yet, starting from the hashed one.
    const used = new Set(assigned.values());
    let i = h % palette.length;
    for (let n = 0; n < palette.length && used.has(palette[i]); n++) i = (i + 1) % palette.length;
    assigned.set(service, palette[i]);
  }
  return assigned.get(service);
}

export function healthBadge(health) {
  const cls = { SERVING: 'ok', NOT_SERVING: 'bad', UNREACHABLE: 'bad', CHECKING: 'plain', UNKNOWN: 'warn' }[health] ?? 'plain';
  const label = { SERVING: 'serving', NOT_SERVING: 'not serving', UNREACHABLE: 'unreachable', CHECKING: 'checking…', UNKNOWN: 'unknown' }[health] ?? health;
  return `<span class="badge ${cls}">${esc(label)}</span>`;
}

export function statusBadge(status, label) {
  const cls = /DECLINED|UNROUTABLE|REVOKED|WITHDRAWN/.test(status) ? 'bad' : /COUNSELLING|COMPLETED|CLOSED/.test(status) ? 'ok' : /PENDING|REQUESTED/.test(status) ? 'warn' : 'info';
  return `<span class="badge ${cls}">${esc(label)}</span>`;
}

export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 5000);
}

/**
 * A line chart as inline SVG: series = [{ name, colour, points: [{ t, v }] }], t in ms.
 * Gaps longer than gapMs break the line (a deployment that was down).
 */
export function lineChart(series, { width = 640, height = 200, yLabel = '', fromMs, toMs, gapMs = 30_000 } = {}) {
  const pad = { l: 44, r: 12, t: 10, b: 24 };
  const all = series.flatMap((s) => s.points);
  const t0 = fromMs ?? Math.min(...all.map((p) => p.t));
  const t1 = toMs ?? Math.max(...all.map((p) => p.t));
  const vmax = Math.max(4, ...all.map((p) => p.v));
  const niceMax = niceCeil(vmax);
  const x = (t) => pad.l + ((t - t0) / Math.max(1, t1 - t0)) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - (v / niceMax) * (height - pad.t - pad.b);
  let svg = `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(yLabel)}">`;
  for (let i = 0; i <= 4; i++) {
    const v = (niceMax / 4) * i;
    svg += `<line class="grid" x1="${pad.l}" x2="${width - pad.r}" y1="${y(v)}" y2="${y(v)}"/><text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${fmtNum(v)}</text>`;
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) / 4) * i;
    svg += `<text x="${x(t)}" y="${height - 6}" text-anchor="middle">${esc(fmtClock(t).slice(0, 5))}</text>`;
  }
  svg += `<line class="axis" x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${height - pad.b}"/><line class="axis" x1="${pad.l}" x2="${width - pad.r}" y1="${height - pad.b}" y2="${height - pad.b}"/>`;
  for (const s of series) {
    let d = '';
    let last;
    for (const p of s.points) {
      d += `${last === undefined || p.t - last > gapMs ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
      last = p.t;
    }
    svg += `<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2"><title>${esc(s.name)}</title></path>`;
  }
  svg += '</svg>';
  const legend = `<div class="legend">${series.map((s) => `<span><i style="background:${s.colour}"></i>${esc(s.name)}</span>`).join('')}</div>`;
  return `<div class="chart">${svg}${legend}</div>`;
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtNum(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
