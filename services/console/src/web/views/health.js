import { ago, api, colour, errorBox, esc, healthBadge, lineChart } from '../lib.js';

export async function render(root, ctx) {
  let minutes = 30;
  root.innerHTML = `
    <h1>Health &amp; lag</h1>
    <p class="lead">Every deployment's gRPC health (grpc.health.v1) and outbox, polled by the console, and every JetStream consumer's lag (messages not yet delivered plus delivered but not acknowledged).</p>
    <section class="panel"><h2>Deployments</h2><div id="deployments"></div></section>
    <div class="grid">
      <section class="panel"><div class="row"><h2>Consumer lag</h2><span class="spacer"></span>
        <label class="field">Window <select id="window">${[15, 30, 60, 180, 720].map((m) => `<option value="${m}" ${m === minutes ? 'selected' : ''}>last ${m >= 60 ? `${m / 60} h` : `${m} min`}</option>`).join('')}</select></label></div>
        <div id="lag-chart"></div></section>
      <section class="panel"><h2>Outbox backlog</h2><div id="backlog-chart"></div></section>
    </div>
    <section class="panel"><h2>Streams and consumers</h2><div id="streams"></div></section>`;
  root.querySelector('#window').addEventListener('change', (e) => {
    minutes = Number(e.target.value);
    void charts();
  });

  function deployments(list) {
    root.querySelector('#deployments').innerHTML = `<table><thead><tr><th>Deployment</th><th>Health</th><th class="num">Latency</th><th>Last seen</th><th class="num">Outbox backlog</th><th class="num">Parked</th><th>Broker state</th><th>Operator API</th></tr></thead><tbody>
      ${list
        .map(
          (d) => `<tr><td><span class="chip"><span class="sw" style="background:${colour(d.id)}"></span><strong>${esc(d.id)}</strong></span>${d.hub ? ' <span class="badge info">hub</span>' : ''}<div class="muted small mono">${esc(d.address)}</div></td>
          <td>${healthBadge(d.health)}${d.problem ? `<div class="muted small">${esc(d.problem)}</div>` : ''}</td>
          <td class="num">${d.latencyMs === null ? '–' : `${d.latencyMs} ms`}</td>
          <td class="nowrap" title="${esc(d.lastSeenAt ?? '')}">${esc(ago(d.lastSeenAt))}</td>
          <td class="num">${d.outbox ? d.outbox.backlog : '–'}${d.outbox?.oldestUnpublishedAt ? `<div class="muted small">oldest ${esc(ago(d.outbox.oldestUnpublishedAt))}</div>` : ''}</td>
          <td class="num">${d.outbox ? (d.outbox.parked ? `<a href="#/dead-letters" class="badge bad">${d.outbox.parked}</a>` : '0') : '–'}</td>
          <td>${brokerState(d.outbox)}</td>
          <td>${d.operatorApi === 'ok' ? '<span class="badge ok">ok</span>' : `<span class="badge warn">${esc(d.operatorApi)}</span>`}</td></tr>`,
        )
        .join('')}</tbody></table>`;
  }

  // The broker may lose a stream (wiped store, deleted stream, fresh broker); the deployment makes
  // it again and re-publishes by itself. This says that it happened and how far consumers confirmed.
  function brokerState(o) {
    if (!o) return '–';
    const lines = [];
    if (o.streamResets) lines.push(`<span class="badge warn" title="${esc(o.lastStreamResetAt ?? '')}">stream rebuilt ×${o.streamResets}</span><div class="muted small">last ${esc(ago(o.lastStreamResetAt))}, ${o.republishedAtLastReset} re-published</div>`);
    if (o.durablesRecreated) lines.push(`<div class="muted small">${o.durablesRecreated} durable(s) recreated</div>`);
    lines.push(`<div class="muted small" title="${esc(o.confirmedBefore ?? '')}">${o.confirmedBefore ? `confirmed up to ${esc(ago(o.confirmedBefore))}` : 'nothing confirmed yet'}</div>`);
    // Sent and not answered: the deployment sends it again by itself; stuck means it gave up.
    for (const a of o.awaiting ?? []) {
      if (!a.waiting) continue;
      const badge = a.stuck ? `<span class="badge bad">${a.stuck} stuck</span> ` : '';
      lines.push(`<div class="small">${badge}${a.waiting} ${esc(a.eventType)} waiting on <strong>${esc(a.waitsOn)}</strong>${a.oldestAt ? `, oldest ${esc(ago(a.oldestAt))}` : ''}</div>`);
    }
    return lines.join('');
  }

  function streams(data) {
    const el = root.querySelector('#streams');
    if (data.problem) {
      el.innerHTML = `<div class="error-box">JetStream: ${esc(data.problem)}</div>`;
      return;
    }
    if (!data.streams.length) {
      el.innerHTML = '<div class="empty">No Lotse streams (or no NATS configured for the console).</div>';
      return;
    }
    el.innerHTML = `<table><thead><tr><th>Stream</th><th>Consumer (durable)</th><th>Filter</th><th class="num">Not delivered</th><th class="num">Unacknowledged</th><th class="num">Redelivered</th><th>Last active</th></tr></thead><tbody>
      ${data.streams
        .flatMap((s) =>
          s.consumers.length
            ? s.consumers.map((c, i) => `<tr>${i === 0 ? `<td rowspan="${s.consumers.length}"><strong>${esc(s.name)}</strong><div class="muted small">${s.messages} messages</div></td>` : ''}<td class="mono small">${esc(c.name)}</td><td class="mono small">${esc(c.filter)}</td><td class="num">${c.pending ? `<span class="badge warn">${c.pending}</span>` : 0}</td><td class="num">${c.ackPending ? `<span class="badge warn">${c.ackPending}</span>` : 0}</td><td class="num">${c.redelivered}</td><td class="nowrap">${esc(ago(c.lastActiveAt))}</td></tr>`)
            : [`<tr><td><strong>${esc(s.name)}</strong><div class="muted small">${s.messages} messages</div></td><td colspan="6" class="muted">no consumers</td></tr>`],
        )
        .join('')}</tbody></table>`;
  }

  async function charts() {
    try {
      const data = await api(`/api/health/series?minutes=${minutes}`);
      const to = Date.now();
      const from = to - minutes * 60_000;
      const byConsumer = new Map();
      for (const p of data.consumers) {
        const key = `${p.consumer.split('__')[0]} ← ${p.stream.replace(/^LOTSE_/, '').toLowerCase().replace(/_/g, '-')}`;
        if (!byConsumer.has(key)) byConsumer.set(key, new Map());
        // Several durables of one consumer (one per filter) add up.
        const m = byConsumer.get(key);
        m.set(p.t, (m.get(p.t) ?? 0) + p.lag);
      }
      const lagSeries = [...byConsumer].map(([name, m]) => ({ name, colour: colour(name), points: [...m].map(([t, v]) => ({ t, v })) }));
      root.querySelector('#lag-chart').innerHTML = lagSeries.length ? lineChart(lagSeries, { yLabel: 'messages', fromMs: from, toMs: to }) : '<div class="empty">No samples yet.</div>';
      const byDeployment = new Map();
      for (const p of data.deployments) {
        if (p.backlog === null) continue;
        if (!byDeployment.has(p.id)) byDeployment.set(p.id, []);
        byDeployment.get(p.id).push({ t: p.t, v: p.backlog });
      }
      // Without the OperatorService, the exported lotse.outbox.backlog metric is the next best source.
      if (byDeployment.size === 0) {
        for (const p of data.backlogMetric) {
          if (!byDeployment.has(p.service)) byDeployment.set(p.service, []);
          byDeployment.get(p.service).push({ t: p.t, v: p.value });
        }
      }
      const backlogSeries = [...byDeployment].map(([name, points]) => ({ name, colour: colour(name), points }));
      root.querySelector('#backlog-chart').innerHTML = backlogSeries.length
        ? lineChart(backlogSeries, { yLabel: 'events', fromMs: from, toMs: to })
        : '<div class="empty">No outbox figures: the deployments answer neither GetOutboxStatus nor export lotse.outbox.backlog yet.</div>';
    } catch (error) {
      root.querySelector('#lag-chart').innerHTML = errorBox(error);
    }
  }

  const overview = await api('/api/overview');
  deployments(overview.deployments);
  streams({ streams: overview.streams, problem: overview.natsProblem });
  await charts();
  ctx.on('deployments', (list) => {
    deployments(list);
    void charts();
  });
  ctx.on('streams', streams);
}
