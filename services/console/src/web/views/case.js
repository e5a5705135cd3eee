import { api, colour, errorBox, esc, fmtDuration, fmtTime, statusBadge } from '../lib.js';

export async function render(root, ctx) {
  const ref = ctx.params[0];
  root.innerHTML = `<p><a href="#/cases">← All cases</a></p><div id="case"><div class="empty">Loading case ${esc(ref)}…</div></div>`;
  const el = root.querySelector('#case');

  async function load() {
    let data;
    try {
      data = await api(`/api/cases/${encodeURIComponent(ref)}`);
    } catch (error) {
      el.innerHTML = error.status === 404 ? `<div class="panel empty">The hub knows no case <span class="mono">${esc(ref)}</span>. A case appears once a referral for it was requested.</div>` : errorBox(error);
      return;
    }
    const s = data.summary;
    el.innerHTML = `
      <section class="panel">
        <h1>Case <span class="mono">${esc(s.caseRef)}</span></h1>
        <div class="case-head">
          <div class="waits" aria-label="The agency this case waits on"><div class="k">Waits on</div><div class="v" id="waits-on">${esc(s.waitsOn)}</div></div>
          <dl>
            <dt>Status</dt><dd>${statusBadge(s.status, s.statusLabel)}</dd>
            <dt>Referral</dt><dd class="mono">${esc(s.referralId)}</dd>
            <dt>Municipality</dt><dd>${esc(s.municipality)}</dd>
            <dt>Age group</dt><dd>${esc(s.ageGroup)}</dd>
          </dl>
          <dl>
            <dt>Opened</dt><dd>${esc(fmtTime(s.openedAt))}</dd>
            <dt>Last change</dt><dd>${esc(fmtTime(s.updatedAt))}</dd>
            <dt>Traces</dt><dd><a href="#/traces?caseRef=${encodeURIComponent(s.caseRef)}">search spans of this case</a></dd>
          </dl>
        </div>
      </section>
      <section class="panel">
        <h2>Timeline <span class="muted small">(as the hub recorded it; each step opens its trace)</span></h2>
        <ol class="timeline">
          ${data.timeline
            .map(
              (e) => `<li>
                <div class="when">${esc(fmtTime(e.occurredAt))}<br><span class="chip"><span class="sw" style="background:${colour(e.agencyId)}"></span>${esc(e.agencyId)}</span></div>
                <div><div class="what">${esc(e.eventType)}</div><div>${esc(e.summary)}</div></div>
                <div class="nowrap">${
                  e.traceId
                    ? `<a class="button secondary" href="#/trace/${esc(e.traceId)}?step=${encodeURIComponent(e.eventId)}" aria-label="Open the trace of ${esc(e.eventType)}">Open trace</a>
                       <div class="muted small">${e.trace ? `${e.trace.spans} spans · ${e.trace.services.length} services · ${esc(fmtDuration(e.trace.durationUs))}${e.trace.errors ? ` · <span class="badge bad">${e.trace.errors} errors</span>` : ''}` : 'not in the store yet'}</div>`
                    : '<span class="muted small">no trace</span>'
                }</div>
              </li>`,
            )
            .join('')}
        </ol>
      </section>`;
  }
  await load();
  let pending;
  ctx.on('telemetry', () => {
    clearTimeout(pending);
    pending = setTimeout(load, 1500);
  });
}
