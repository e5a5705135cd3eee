import { api, colour, errorBox, esc } from '../lib.js';

const healthColour = { SERVING: '#1e7a46', NOT_SERVING: '#b42318', UNREACHABLE: '#b42318', UNKNOWN: '#8a5a00', CHECKING: '#94a3b8' };

export async function render(root, ctx) {
  let minutes = Number(ctx.query.get('minutes') ?? 15);
  root.innerHTML = `
    <h1>Network</h1>
    <p class="lead">The agency deployments and what flows between them: events consumed (producer → consumer) and gRPC calls (caller → callee), per minute over the chosen window, from the traces the deployments send.</p>
    <div class="stat-cards" id="stats"></div>
    <div class="map-wrap">
      <section class="panel map" aria-labelledby="map-title">
        <div class="row"><h2 id="map-title">Map</h2><span class="spacer"></span>
          <label class="field">Window
            <select id="window">${[5, 15, 60, 360, 1440].map((m) => `<option value="${m}" ${m === minutes ? 'selected' : ''}>last ${m < 60 ? `${m} min` : `${m / 60} h`}</option>`).join('')}</select>
          </label>
        </div>
        <div id="map"></div>
        <div class="legend"><span><i style="background:#13708f"></i>events</span><span><i style="background:repeating-linear-gradient(90deg,#64748b 0 5px,transparent 5px 8px)"></i>gRPC calls</span><span><i style="background:#b42318"></i>with errors</span></div>
      </section>
      <section class="panel" aria-labelledby="flows-title">
        <h2 id="flows-title">Flows</h2>
        <div id="flows"></div>
      </section>
    </div>`;
  root.querySelector('#window').addEventListener('change', (e) => {
    minutes = Number(e.target.value);
    void load();
  });

  async function load() {
    try {
      const [map, overview] = await Promise.all([api(`/api/map?minutes=${minutes}`), api('/api/overview')]);
      drawStats(root.querySelector('#stats'), overview);
      root.querySelector('#map').innerHTML = drawMap(map);
      root.querySelector('#flows').innerHTML = flowTable(map);
    } catch (error) {
      root.querySelector('#map').innerHTML = errorBox(error);
    }
  }
  await load();
  let pending;
  const refresh = () => {
    clearTimeout(pending);
    pending = setTimeout(load, 500);
  };
  ctx.on('telemetry', refresh);
  ctx.on('deployments', refresh);
}

function drawStats(el, o) {
  const serving = o.deployments.filter((d) => d.health === 'SERVING').length;
  const parked = o.deployments.reduce((n, d) => n + (d.outbox?.parked ?? 0), 0);
  const lag = o.streams.reduce((n, s) => n + s.consumers.reduce((m, c) => m + c.pending + c.ackPending, 0), 0);
  const stats = [
    ['Deployments serving', `${serving} / ${o.deployments.length}`],
    ['Consumer lag', lag],
    ['Parked messages', parked],
    ['Spans stored', o.stored.spans.toLocaleString('en')],
    ['Spans received', o.ingested.spans.toLocaleString('en')],
  ];
  el.innerHTML = stats.map(([k, v]) => `<div class="stat"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join('');
}

function layout(nodes) {
  const W = 900;
  const hub = nodes.find((n) => n.hub);
  const others = nodes.filter((n) => n !== hub);
  // Referrer (the first deployment) on the left, the hub in the middle, the rest in a column on the right.
  const left = others.slice(0, 1);
  const right = others.slice(1);
  const rowGap = 125;
  const H = Math.max(360, right.length * rowGap + 80);
  const pos = new Map();
  if (hub) pos.set(hub.id, { x: W / 2, y: H / 2 });
  left.forEach((n) => pos.set(n.id, { x: 120, y: H / 2 }));
  right.forEach((n, i) => pos.set(n.id, { x: W - 150, y: H / 2 + (i - (right.length - 1) / 2) * rowGap }));
  return { W, H, pos };
}

function drawMap(map) {
  if (!map.nodes.length) return '<div class="empty">No deployments configured.</div>';
  const { W, H, pos } = layout(map.nodes);
  const maxRate = Math.max(0.1, ...map.edges.map((e) => e.perMinute));
  let svg = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Map of the agency deployments and the flows between them">
    <defs>
      <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#13708f"/></marker>
      <marker id="arrow-grpc" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker>
      <marker id="arrow-bad" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#b42318"/></marker>
    </defs>`;
  const R = 34;
  for (const e of map.edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.target);
    if (!a || !b) continue;
    // Bend each edge to its right, so A→B and B→A are drawn apart.
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    const nx = -dy / len;
    const ny = dx / len;
    // Events bend one way, gRPC calls the other, so the two kinds between one pair stay apart.
    const bend = e.kind === 'grpc' ? -38 : 28;
    const mx = (a.x + b.x) / 2 + nx * bend;
    const my = (a.y + b.y) / 2 + ny * bend;
    const start = towards(a, { x: mx, y: my }, R + 2);
    const end = towards(b, { x: mx, y: my }, R + 6);
    const bad = e.errors > 0;
    const stroke = bad ? '#b42318' : e.kind === 'grpc' ? '#64748b' : '#13708f';
    const width = 1.5 + (e.perMinute / maxRate) * 5;
    const marker = bad ? 'arrow-bad' : e.kind === 'grpc' ? 'arrow-grpc' : 'arrow';
    const label = `${fmtRate(e.perMinute)}/min${e.errors ? ` · ${(e.errorRate * 100).toFixed(0)}% err` : ''}`;
    svg += `<g><title>${esc(`${e.source} → ${e.target} (${e.kind}): ${e.count} in the window, ${e.errors} with errors`)}</title>
      <path class="edge" d="M${start.x},${start.y} Q${mx},${my} ${end.x},${end.y}" stroke="${stroke}" stroke-width="${width.toFixed(1)}" ${e.kind === 'grpc' ? 'stroke-dasharray="6 5"' : ''} marker-end="url(#${marker})"/>
      <text class="edge-label" x="${(start.x + 2 * mx + end.x) / 4}" y="${(start.y + 2 * my + end.y) / 4}" text-anchor="middle">${esc(label)}</text></g>`;
  }
  for (const n of map.nodes) {
    const p = pos.get(n.id);
    const fill = colour(n.id);
    const ring = healthColour[n.health] ?? '#94a3b8';
    svg += `<g class="node"><title>${esc(`${n.id}: ${n.health}, ${n.spans} events consumed and calls served (${n.errors} with errors) in the window`)}</title>
      <circle cx="${p.x}" cy="${p.y}" r="${R + 5}" fill="none" stroke="${ring}" stroke-width="4"/>
      <circle cx="${p.x}" cy="${p.y}" r="${R}" fill="${fill}"/>
      <text x="${p.x}" y="${p.y + 5}" text-anchor="middle" fill="#fff" style="fill:#fff;font-size:12px">${n.hub ? 'HUB' : esc(initials(n.id))}</text>
      <text x="${p.x}" y="${p.y + R + 22}" text-anchor="middle">${esc(n.id)}</text>
      <text class="sub" x="${p.x}" y="${p.y + R + 37}" text-anchor="middle">${esc(`${n.health.toLowerCase().replace('_', ' ')} · ${n.spans} handled${n.errors ? ` · ${n.errors} err` : ''}${n.parked ? ` · ${n.parked} parked` : ''}`)}</text></g>`;
  }
  return svg + '</svg>';
}

function flowTable(map) {
  if (!map.edges.length) return `<div class="empty">No flows in the last ${map.windowMinutes} minutes. Make a referral and watch it appear.</div>`;
  const rows = [...map.edges].sort((a, b) => b.perMinute - a.perMinute);
  return `<table><thead><tr><th>From → to</th><th>Kind</th><th class="num">Per min</th><th class="num">Errors</th></tr></thead><tbody>
    ${rows.map((e) => `<tr><td>${esc(e.source)} → ${esc(e.target)}</td><td>${e.kind === 'event' ? 'events' : 'gRPC'}</td><td class="num">${fmtRate(e.perMinute)}</td><td class="num">${e.errors ? `<span class="badge bad">${e.errors}</span>` : '0'}</td></tr>`).join('')}
  </tbody></table>`;
}

function towards(from, to, dist) {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const len = Math.hypot(dx, dy) || 1;
  return { x: +(from.x + (dx / len) * dist).toFixed(1), y: +(from.y + (dy / len) * dist).toFixed(1) };
}

function initials(id) {
  return id.split('-').map((w) => w[0]).join('').slice(0, 3).toUpperCase();
}

function fmtRate(r) {
  return r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2);
}

