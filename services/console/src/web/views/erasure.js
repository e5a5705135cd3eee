import { ago, api, colour, errorBox, esc, fmtTime } from '../lib.js';

const label = (s) => String(s ?? '').replace(/^[A-Z]+(_[A-Z]+)*?_(STATUS|CATEGORY)_/, '').toLowerCase().replace(/_/g, ' ');

export async function render(root, ctx) {
  root.innerHTML = `
    <h1>Erasure confirmations</h1>
    <p class="lead">When a newcomer withdraws consent, every recipient stops processing, erases what it received under that consent, and confirms (Art. 7(3), 17, 19 GDPR). The hub tracks one erasure per recipient; confirmations appear here as they arrive.</p>
    <section class="panel"><div id="list"></div></section>`;
  async function load() {
    const el = root.querySelector('#list');
    try {
      const data = await api('/api/erasures');
      if (data.source === 'hub') {
        const list = data.erasures;
        if (!list.length) {
          el.innerHTML = '<div class="empty">No consent withdrawals so far.</div>';
          return;
        }
        const open = list.filter((e) => e.status === 'ERASURE_STATUS_OPEN').length;
        el.innerHTML = `<p>${list.length} erasures, <strong>${open} waiting for confirmation</strong>.</p>
          <table><thead><tr><th>Case</th><th>Recipient</th><th>Status</th><th>Withdrawn</th><th>Requested</th><th>Confirmed</th><th>Erased</th><th>Retained (legal basis)</th></tr></thead><tbody>
          ${list
            .map(
              (e) => `<tr><td class="mono"><a href="#/cases/${encodeURIComponent(e.caseRef ?? '')}">${esc(e.caseRef ?? '')}</a></td>
                <td><span class="chip"><span class="sw" style="background:${colour(e.recipientAgencyId ?? '')}"></span>${esc(e.recipientAgencyId ?? '')}</span></td>
                <td>${e.status === 'ERASURE_STATUS_CONFIRMED' ? '<span class="badge ok">confirmed</span>' : `<span class="badge warn">open</span>`}</td>
                <td class="nowrap">${esc(fmtTime(e.withdrawnAt))}${e.withdrawalReceivedBy ? `<div class="muted small">at ${esc(e.withdrawalReceivedBy)}</div>` : ''}</td>
                <td class="nowrap">${esc(fmtTime(e.requestedAt))}</td>
                <td class="nowrap">${e.confirmedAt ? esc(fmtTime(e.confirmedAt)) : `<span class="muted">waiting since ${esc(ago(e.requestedAt))}</span>`}</td>
                <td class="small">${(e.erasedCategories ?? []).map(label).map(esc).join(', ') || '–'}</td>
                <td class="small">${(e.retained ?? []).map((r) => esc(JSON.stringify(r))).join('<br>') || '–'}</td></tr>`,
            )
            .join('')}</tbody></table>`;
        return;
      }
      if (!data.spans.length) {
        el.innerHTML = `<div class="empty">No consent withdrawals or erasure confirmations seen yet.<br><span class="small">This hub does not track erasures yet; the console watches the traces for events of type ${data.eventTypes.map((t) => `<span class="mono">${esc(t)}</span>`).join(', ')}.</span></div>`;
        return;
      }
      el.innerHTML = `<table><thead><tr><th>When</th><th>Event</th><th>Agency</th><th>Case</th><th>Trace</th></tr></thead><tbody>
        ${data.spans.map((s) => `<tr><td class="nowrap">${esc(fmtTime(new Date(s.startUs / 1000).toISOString()))}</td><td>${esc(s.eventType)}</td><td><span class="chip"><span class="sw" style="background:${colour(s.service)}"></span>${esc(s.service)}</span></td><td class="mono">${s.caseRef ? `<a href="#/cases/${encodeURIComponent(s.caseRef)}">${esc(s.caseRef)}</a>` : '–'}</td><td><a href="#/trace/${esc(s.traceId)}">open</a></td></tr>`).join('')}
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
