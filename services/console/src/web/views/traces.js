import { api, colour, errorBox, esc, fmtDuration, fmtTime } from '../lib.js';

export async function render(root, ctx) {
  const q = ctx.query;
  const ops = await api('/api/operations').catch(() => ({}));
  root.innerHTML = `
    <h1>Traces</h1>
    <p class="lead">Find traces by the service and operation of any of their spans, a minimum duration, errors, or a case reference. Newest first.</p>
    <section class="panel">
      <form class="search" id="search" role="search" aria-label="Search traces">
        <label class="field">Service <select name="service" id="service"><option value="">any</option>${Object.keys(ops).map((s) => `<option ${s === q.get('service') ? 'selected' : ''}>${esc(s)}</option>`).join('')}</select></label>
        <label class="field">Operation <select name="operation" id="operation"></select></label>
        <label class="field">Min. duration (ms) <input type="number" name="minDurationMs" min="0" step="any" value="${esc(q.get('minDurationMs') ?? '')}"></label>
        <label class="field">Case reference <input type="text" class="mono" name="caseRef" value="${esc(q.get('caseRef') ?? '')}"></label>
        <label class="check"><input type="checkbox" name="errors" value="1" ${q.get('errors') ? 'checked' : ''}> errors only</label>
        <button type="submit">Search</button>
      </form>
    </section>
    <section class="panel"><div id="results"></div></section>`;
  const service = root.querySelector('#service');
  const operation = root.querySelector('#operation');
  const fillOps = (selected) => {
    const names = service.value ? ops[service.value] ?? [] : [...new Set(Object.values(ops).flat())].sort();
    operation.innerHTML = `<option value="">any</option>${names.map((n) => `<option ${n === selected ? 'selected' : ''}>${esc(n)}</option>`).join('')}`;
  };
  fillOps(q.get('operation'));
  service.addEventListener('change', () => fillOps(''));
  const form = root.querySelector('#search');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) params.set(k, v.toString());
    history.replaceState(null, '', `#/traces${params.size ? `?${params}` : ''}`);
    void search(params);
  });

  async function search(params) {
    const el = root.querySelector('#results');
    try {
      const started = performance.now();
      const { traces } = await api(`/api/traces?${params}`);
      const ms = Math.round(performance.now() - started);
      if (!traces.length) {
        el.innerHTML = '<div class="empty">No traces match.</div>';
        return;
      }
      el.innerHTML = `<p class="muted small">${traces.length} traces (${ms} ms)</p>
        <table><thead><tr><th>Started</th><th>Root</th><th>Services</th><th class="num">Spans</th><th class="num">Duration</th><th>Case</th></tr></thead><tbody>
        ${traces
          .map(
            (t) => `<tr class="clickable" data-id="${esc(t.traceId)}">
              <td class="nowrap">${esc(fmtTime(new Date(t.startUs / 1000).toISOString()))}</td>
              <td><a href="#/trace/${esc(t.traceId)}">${esc(t.rootService)}: ${esc(t.rootName)}</a>${t.errors ? ` <span class="badge bad">${t.errors} errors</span>` : ''}</td>
              <td>${t.services.map((s) => `<span class="chip"><span class="sw" style="background:${colour(s)}"></span>${esc(s)}</span>`).join(' ')}</td>
              <td class="num">${t.spans}</td><td class="num">${esc(fmtDuration(t.durationUs))}</td>
              <td class="mono small nowrap">${t.caseRefs.map((c) => `<a href="#/cases/${encodeURIComponent(c)}">${esc(c)}</a>`).join(' ')}</td></tr>`,
          )
          .join('')}
        </tbody></table>`;
      for (const tr of el.querySelectorAll('tr[data-id]')) tr.addEventListener('click', (e) => {
        if (e.target.tagName !== 'A') location.hash = `#/trace/${tr.dataset.id}`;
      });
    } catch (error) {
      el.innerHTML = errorBox(error);
    }
  }
  await search(new URLSearchParams([...q].filter(([, v]) => v)));
}
