import { api, errorBox, esc, fmtTime, statusBadge } from '../lib.js';

const statuses = ['', 'REFERRAL_STATUS_REQUESTED', 'REFERRAL_STATUS_PENDING', 'REFERRAL_STATUS_ACCEPTED', 'REFERRAL_STATUS_DECLINED', 'REFERRAL_STATUS_UNROUTABLE', 'REFERRAL_STATUS_COUNSELLING_STARTED'];

export async function render(root, ctx) {
  const overview = await api('/api/overview').catch(() => ({ deployments: [] }));
  const status = ctx.query.get('status') ?? '';
  const agency = ctx.query.get('agency') ?? '';
  root.innerHTML = `
    <h1>Cases</h1>
    <p class="lead">The hub's pseudonymous case index: find a case by its reference, or list the cases by status and by the agency they wait on. No personal data is shown here — the hub holds none.</p>
    <section class="panel">
      <form class="search" id="find" role="search" aria-label="Find a case">
        <label class="field">Case reference <input type="text" class="wide mono" name="ref" id="case-ref" placeholder="e.g. C-7K2M-9XQ4" autocomplete="off" required></label>
        <button type="submit">Open case</button>
      </form>
    </section>
    <section class="panel">
      <form class="search" id="filter" aria-label="Filter cases">
        <label class="field">Status
          <select name="status">${statuses.map((s) => `<option value="${s}" ${s === status ? 'selected' : ''}>${s ? esc(s.replace('REFERRAL_STATUS_', '').toLowerCase().replace(/_/g, ' ')) : 'any'}</option>`).join('')}</select>
        </label>
        <label class="field">Waits on
          <select name="agency"><option value="">any agency</option>${overview.deployments.map((d) => `<option ${d.id === agency ? 'selected' : ''}>${esc(d.id)}</option>`).join('')}</select>
        </label>
        <button type="submit" class="secondary">List cases</button>
      </form>
      <div id="list"></div>
    </section>`;
  root.querySelector('#find').addEventListener('submit', (e) => {
    e.preventDefault();
    const ref = new FormData(e.target).get('ref').toString().trim();
    if (ref) location.hash = `#/cases/${encodeURIComponent(ref)}`;
  });
  root.querySelector('#filter').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const q = new URLSearchParams();
    for (const k of ['status', 'agency']) if (f.get(k)) q.set(k, f.get(k));
    history.replaceState(null, '', `#/cases${q.size ? `?${q}` : ''}`);
    void list(f.get('status'), f.get('agency'));
  });

  async function list(status, agency, after = '') {
    const el = root.querySelector('#list');
    try {
      const q = new URLSearchParams({ pageSize: '50' });
      if (status) q.set('status', status);
      if (agency) q.set('agency', agency);
      if (after) q.set('after', after);
      const { cases, next } = await api(`/api/cases?${q}`);
      if (!cases.length) {
        el.innerHTML = '<div class="empty">No cases match. Cases appear here once the foreign office requests a referral.</div>';
        return;
      }
      el.innerHTML = `<table><thead><tr><th>Case</th><th>Status</th><th>Waits on</th><th>Municipality</th><th>Age group</th><th>Updated</th></tr></thead><tbody>
        ${cases.map((c) => `<tr class="clickable" data-ref="${esc(c.caseRef)}"><td><a class="mono" href="#/cases/${encodeURIComponent(c.caseRef)}">${esc(c.caseRef)}</a></td><td>${statusBadge(c.status, c.statusLabel)}</td><td>${esc(c.waitsOn)}</td><td>${esc(c.municipality)}</td><td>${esc(c.ageGroup)}</td><td class="nowrap">${esc(fmtTime(c.updatedAt))}</td></tr>`).join('')}
      </tbody></table>${next ? `<p><button class="secondary" id="more">Next page</button></p>` : ''}`;
      el.querySelector('#more')?.addEventListener('click', () => list(status, agency, next));
      for (const tr of el.querySelectorAll('tr[data-ref]')) tr.addEventListener('click', (e) => {
        if (e.target.tagName !== 'A') location.hash = `#/cases/${encodeURIComponent(tr.dataset.ref)}`;
      });
    } catch (error) {
      el.innerHTML = errorBox(error);
    }
  }
  root.querySelector('#case-ref').focus();
  await list(status, agency);
}
