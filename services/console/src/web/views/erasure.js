import { api, colour, errorBox, esc, fmtTime } from '../lib.js';

export async function render(root, ctx) {
  root.innerHTML = `
    <h1>Erasure confirmations</h1>
    <p class="lead">When a newcomer withdraws consent, every recipient stops processing, erases what it received under that consent, and confirms. The confirmations appear here as they arrive.</p>
    <section class="panel"><div id="list"></div></section>`;
  async function load() {
    const el = root.querySelector('#list');
    try {
      const { spans, eventTypes } = await api('/api/erasures');
      if (!spans.length) {
        el.innerHTML = `<div class="empty">No consent withdrawals or erasure confirmations seen yet.<br><span class="small">The console watches for events of type ${eventTypes.map((t) => `<span class="mono">${esc(t)}</span>`).join(', ')}; they flow once consent withdrawal is part of the network.</span></div>`;
        return;
      }
      el.innerHTML = `<table><thead><tr><th>When</th><th>Event</th><th>Agency</th><th>Case</th><th>Trace</th></tr></thead><tbody>
        ${spans.map((s) => `<tr><td class="nowrap">${esc(fmtTime(new Date(s.startUs / 1000).toISOString()))}</td><td>${esc(s.eventType)}</td><td><span class="chip"><span class="sw" style="background:${colour(s.service)}"></span>${esc(s.service)}</span></td><td class="mono">${s.caseRef ? `<a href="#/cases/${encodeURIComponent(s.caseRef)}">${esc(s.caseRef)}</a>` : '–'}</td><td><a href="#/trace/${esc(s.traceId)}">open</a></td></tr>`).join('')}
      </tbody></table>`;
    } catch (error) {
      el.innerHTML = errorBox(error);
    }
  }
  await load();
  let pending;
  ctx.on('telemetry', () => {
    clearTimeout(pending);
    pending = setTimeout(load, 2000);
  });
}
