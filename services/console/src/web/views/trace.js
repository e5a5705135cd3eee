import { api, colour, errorBox, esc, fmtDuration, fmtTime } from '../lib.js';

const kinds = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export async function render(root, ctx) {
  const traceId = ctx.params[0];
  root.innerHTML = `<p><button class="link" id="back">← Back</button></p><div id="trace"><div class="empty">Loading trace ${esc(traceId)}…</div></div>`;
  const el = root.querySelector('#trace');
  root.querySelector('#back').addEventListener('click', () => (history.length > 1 ? history.back() : (location.hash = '#/traces')));
  let selected = null;

  async function load() {
    let t;
    try {
      t = await api(`/api/traces/${traceId}`);
    } catch (error) {
      el.innerHTML = errorBox(error);
      return false;
    }
    const total = Math.max(1, t.durationUs);
    const pct = (us) => `${((us / total) * 100).toFixed(3)}%`;
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<span style="left:${f * 100}%">${esc(fmtDuration(total * f))}</span>`).join('');
    el.innerHTML = `
      <section class="panel">
        <div class="trace-head">
          <h1>Trace</h1><span class="mono">${esc(t.traceId)}</span>
          <span class="spacer"></span>
          <span>${esc(fmtTime(new Date(t.startUs / 1000).toISOString()))}</span>
          <span><strong>${esc(fmtDuration(t.durationUs))}</strong></span>
          <span>${t.rows.length} spans</span>
          ${t.errors ? `<span class="badge bad">${t.errors} errors</span>` : '<span class="badge ok">no errors</span>'}
          ${t.caseRefs.map((c) => `<a class="mono" href="#/cases/${encodeURIComponent(c)}">case ${esc(c)}</a>`).join(' ')}
        </div>
        <div class="services-legend" aria-label="Services in this trace" id="services">
          ${t.services.map((s) => `<span class="chip" data-service="${esc(s.service)}"><span class="sw" style="background:${colour(s.service)}"></span><strong>${esc(s.service)}</strong> <span class="muted">${s.spans} spans${s.errors ? `, ${s.errors} errors` : ''}</span></span>`).join('')}
        </div>
        <div class="wf" role="table" aria-label="Spans of the trace as a waterfall">
          <div class="wf-head" role="row"><div role="columnheader">Service · operation</div><div class="wf-ticks" role="columnheader">${ticks}</div></div>
          ${t.rows
            .map((r, i) => {
              const left = (r.offsetUs / total) * 100;
              const width = Math.max(0.15, (r.durationUs / total) * 100);
              const durLeft = left + width > 85 ? `right:${(100 - left + 0.5).toFixed(2)}%` : `left:${(left + width + 0.5).toFixed(2)}%`;
              return `<div class="wf-row ${r.error ? 'err' : ''} ${r.spanId === selected ? 'selected' : ''}" role="row" tabindex="0" data-i="${i}" data-span="${esc(r.spanId)}">
                <div class="wf-name" role="cell" style="padding-left:${10 + r.depth * 16}px"><span class="svc" style="background:${colour(r.service)}">${esc(r.service)}</span><span class="op" title="${esc(r.name)}">${esc(r.name)}</span>${r.error ? '<span class="badge bad">error</span>' : ''}</div>
                <div class="wf-bar-cell" role="cell"><div class="wf-bar ${r.error ? 'err' : ''}" style="left:${left.toFixed(3)}%;width:${width.toFixed(3)}%;background:${colour(r.service)}"></div>
                  ${r.events.map((ev) => `<div class="wf-ev" title="${esc(ev.name)}" style="left:${pct(ev.timeUs - t.startUs)}"></div>`).join('')}
                  <span class="wf-dur" style="${durLeft}">${esc(fmtDuration(r.durationUs))}</span></div>
              </div>`;
            })
            .join('')}
        </div>
        <div id="detail" class="detail"></div>
      </section>
      <section class="panel">
        <h2>Log lines of this trace</h2>
        ${
          t.logs.length
            ? `<table class="logs"><thead><tr><th>Time</th><th>Service</th><th>Level</th><th>Message</th></tr></thead><tbody>
              ${t.logs.map((l) => `<tr data-span="${esc(l.spanId ?? '')}"><td class="nowrap">${esc(new Date(l.timeUs / 1000).toISOString().slice(11, 23))}</td><td>${esc(l.service)}</td><td>${l.severity === 'ERROR' || l.severity === 'FATAL' ? `<span class="badge bad">${esc(l.severity)}</span>` : l.severity === 'WARN' ? `<span class="badge warn">${esc(l.severity)}</span>` : esc(l.severity)}</td><td>${esc(l.body)}</td></tr>`).join('')}
              </tbody></table>`
            : '<div class="empty">No log lines with this trace id (yet).</div>'
        }
      </section>`;
    const rows = el.querySelectorAll('.wf-row');
    const show = (i) => {
      const r = t.rows[i];
      selected = r.spanId;
      for (const row of rows) row.classList.toggle('selected', row.dataset.span === selected);
      for (const tr of el.querySelectorAll('.logs tr[data-span]')) tr.classList.toggle('hl', tr.dataset.span === selected);
      el.querySelector('#detail').innerHTML = detail(r, t);
    };
    rows.forEach((row) => {
      row.addEventListener('click', () => show(Number(row.dataset.i)));
      row.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          show(Number(row.dataset.i));
        }
      });
    });
    const again = t.rows.findIndex((r) => r.spanId === selected);
    if (again >= 0) show(again);
    return true;
  }
  await load();
  // Spans of a fresh trace keep arriving for a while; reload quietly when new telemetry comes in.
  let pending;
  ctx.on('telemetry', () => {
    clearTimeout(pending);
    pending = setTimeout(load, 1200);
  });
}

function detail(r, t) {
  const attrs = Object.entries(r.attributes).sort(([a], [b]) => a.localeCompare(b));
  return `<div class="panel">
    <h2><span class="chip"><span class="sw" style="background:${colour(r.service)}"></span>${esc(r.service)}</span> · ${esc(r.name)}</h2>
    <dl class="kv">
      <dt>span id</dt><dd>${esc(r.spanId)}</dd>
      <dt>parent</dt><dd>${esc(r.parentSpanId ?? '–')}${r.orphan ? ' (not in the store)' : ''}</dd>
      <dt>kind</dt><dd>${esc(kinds[r.kind] ?? r.kind)}</dd>
      <dt>start</dt><dd>+${esc(fmtDuration(r.offsetUs))}</dd>
      <dt>duration</dt><dd>${esc(fmtDuration(r.durationUs))}</dd>
      <dt>status</dt><dd>${r.error ? `<span class="badge bad">error</span> ${esc(r.statusMessage ?? '')}` : 'ok'}</dd>
      ${attrs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(typeof v === 'string' ? v : JSON.stringify(v))}</dd>`).join('')}
    </dl>
    ${
      r.events.length
        ? `<h3>Span events</h3><table><thead><tr><th>At</th><th>Event</th><th>Attributes</th></tr></thead><tbody>${r.events
            .map((e) => `<tr><td class="nowrap">+${esc(fmtDuration(e.timeUs - t.startUs))}</td><td>${esc(e.name)}</td><td class="mono small">${esc(Object.entries(e.attributes).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('  '))}</td></tr>`)
            .join('')}</tbody></table>`
        : ''
    }
  </div>`;
}
