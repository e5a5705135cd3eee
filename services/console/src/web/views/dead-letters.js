import { api, colour, errorBox, esc, fmtTime, me, toast } from '../lib.js';

const stateBadge = { open: '<span class="badge bad">parked</span>', replayed: '<span class="badge ok">replayed</span>', discarded: '<span class="badge plain">discarded</span>' };

export async function render(root, ctx) {
  let showResolved = false;
  let selected = null;
  root.innerHTML = `
    <h1>Dead letters</h1>
    <p class="lead">Messages a deployment's consumer could not process after repeated deliveries, parked there. Inspect the payload, then replay it (the deployment runs its handler again) or discard it. Both are audited at the deployment, ${me.signIn ? 'with your staff id' : 'with your name'}.${me.signIn && !me.mayAct ? ' <strong>You may look; replay and discard need the operator role.</strong>' : ''}</p>
    <section class="panel">
      <div class="row"><h2>Parked messages</h2><span class="spacer"></span>
        <label class="check"><input type="checkbox" id="resolved"> show replayed and discarded</label></div>
      <div id="list"><div class="empty">Asking every deployment…</div></div>
    </section>
    <section class="panel" id="inspect" hidden></section>
    <section class="panel"><h2>Console actions</h2><div id="actions"></div></section>
    <dialog id="dialog" aria-labelledby="dialog-title">
      <form method="dialog" id="dialog-form">
        <h2 id="dialog-title"></h2>
        <p id="dialog-text" class="muted"></p>
        <label class="field" id="operator-field">Your name (for the audit trail) <input type="text" name="operator" required autocomplete="name"></label>
        <label class="field" id="reason-field">Reason <textarea name="reason" rows="3"></textarea></label>
        <div class="actions"><button type="button" class="secondary" id="dialog-cancel">Cancel</button><button type="submit" id="dialog-ok"></button></div>
      </form>
    </dialog>`;
  root.querySelector('#resolved').addEventListener('change', (e) => {
    showResolved = e.target.checked;
    void load();
  });

  async function load() {
    const el = root.querySelector('#list');
    try {
      const { messages, unavailable } = await api(`/api/dead-letters${showResolved ? '?all=1' : ''}`);
      const problems = unavailable.length
        ? `<div class="note-box">Not answered by ${unavailable.map((u) => `<strong>${esc(u.deployment)}</strong> (${esc(u.status)}${u.status === 'UNIMPLEMENTED' ? ': no OperatorService yet' : `: ${esc(u.message)}`})`).join(', ')}.</div>`
        : '';
      el.innerHTML =
        problems +
        (messages.length
          ? `<table><thead><tr><th>Parked</th><th>Deployment</th><th>Subject</th><th>Event</th><th>Case</th><th>Error</th><th class="num">Deliveries</th><th>State</th></tr></thead><tbody>
            ${messages
              .map(
                (m) => `<tr class="clickable ${selected === key(m) ? 'selected' : ''}" tabindex="0" data-key="${esc(key(m))}" data-deployment="${esc(m.deployment)}" data-id="${esc(m.parkedId)}">
                  <td class="nowrap">${esc(fmtTime(m.parkedAt))}</td>
                  <td><span class="chip"><span class="sw" style="background:${colour(m.deployment)}"></span>${esc(m.deployment)}</span></td>
                  <td class="mono small">${esc(m.subject)}</td>
                  <td>${esc(m.eventType || '–')}</td>
                  <td class="mono small">${m.caseRef ? `<a href="#/cases/${encodeURIComponent(m.caseRef)}">${esc(m.caseRef)}</a>` : '–'}</td>
                  <td class="small">${esc(m.error.length > 90 ? `${m.error.slice(0, 90)}…` : m.error)}</td>
                  <td class="num">${m.deliveries}</td>
                  <td>${stateBadge[m.state]}</td></tr>`,
              )
              .join('')}</tbody></table>`
          : `<div class="empty">${showResolved ? 'No parked messages at all.' : 'No parked messages. Everything was processed.'}</div>`);
      for (const tr of el.querySelectorAll('tr[data-key]')) {
        const open = () => inspect(tr.dataset.deployment, tr.dataset.id);
        tr.addEventListener('click', (e) => e.target.tagName !== 'A' && open());
        tr.addEventListener('keydown', (e) => e.key === 'Enter' && open());
      }
    } catch (error) {
      el.innerHTML = errorBox(error);
    }
    await actions();
  }

  async function actions() {
    const { actions } = await api('/api/actions');
    root.querySelector('#actions').innerHTML = actions.length
      ? `<table><thead><tr><th>When</th><th>Operator</th><th>Action</th><th>Message</th><th>Outcome</th></tr></thead><tbody>${actions
          .map((a) => `<tr><td class="nowrap">${esc(fmtTime(a.at))}</td><td>${esc(a.operator_name)}${a.operator_roles ? ` <span class="muted small">(${esc(a.operator_roles.join(', '))})</span>` : ''}</td><td>${esc(a.action)}${a.reason ? `: <span class="muted">${esc(a.reason)}</span>` : ''}</td><td class="mono small">${esc(a.deployment_id)} #${esc(a.parked_id)}</td><td>${a.outcome === 'ok' ? '<span class="badge ok">ok</span>' : `<span class="badge bad">${esc(a.outcome)}</span> <span class="small">${esc(a.detail ?? '')}</span>`}</td></tr>`)
          .join('')}</tbody></table>`
      : '<div class="empty">No replays or discards from this console yet.</div>';
  }

  async function inspect(deployment, id, result) {
    selected = `${deployment}/${id}`;
    for (const tr of root.querySelectorAll('tr[data-key]')) tr.classList.toggle('selected', tr.dataset.key === selected);
    const panel = root.querySelector('#inspect');
    panel.hidden = false;
    panel.innerHTML = '<div class="empty">Loading…</div>';
    let m;
    try {
      m = await api(`/api/dead-letters/${encodeURIComponent(deployment)}/${encodeURIComponent(id)}`);
    } catch (error) {
      panel.innerHTML = errorBox(error);
      return;
    }
    const d = m.decoded;
    panel.innerHTML = `
      <div class="row"><h2>Message #${esc(m.parkedId)} at ${esc(m.deployment)}</h2> ${stateBadge[m.state]}<span class="spacer"></span>
        ${m.state === 'open' ? (me.mayAct ? '<button id="replay">Replay</button> <button class="danger" id="discard">Discard…</button>' : '<button id="replay" disabled title="needs the operator role">Replay</button> <button class="danger" id="discard" disabled title="needs the operator role">Discard…</button>') : ''}</div>
      <div id="result">${result ?? ''}</div>
      <dl class="kv">
        <dt>consumer</dt><dd>${esc(m.consumer)}</dd><dt>stream</dt><dd>${esc(m.stream)}</dd><dt>subject</dt><dd>${esc(m.subject)}</dd>
        <dt>deliveries</dt><dd>${m.deliveries}</dd><dt>parked at</dt><dd>${esc(m.parkedAt ?? '–')}</dd>
        ${m.replayedAt ? `<dt>replayed at</dt><dd>${esc(m.replayedAt)}</dd>` : ''}${m.discardedAt ? `<dt>discarded at</dt><dd>${esc(m.discardedAt)}</dd>` : ''}
        <dt>last error</dt><dd>${esc(m.error)}</dd><dt>size</dt><dd>${m.size} bytes</dd>
      </dl>
      ${d.problem ? `<div class="note-box">${esc(d.problem)}</div>` : ''}
      ${d.envelope ? `<h3>Envelope</h3><pre class="json">${esc(JSON.stringify(d.envelope, null, 2))}</pre>` : ''}
      ${d.payload ? `<h3>Payload (${esc(d.envelope?.eventType ?? '')})</h3><pre class="json" id="payload">${esc(JSON.stringify(d.payload, null, 2))}</pre>` : ''}
      ${!d.envelope ? `<h3>Raw bytes</h3><pre class="json">${esc(d.hex)}</pre>` : ''}
      ${m.actions.length ? `<h3>Actions on this message</h3><ul>${m.actions.map((a) => `<li>${esc(fmtTime(a.at))}: ${esc(a.operator_name)} — ${esc(a.action)} → ${esc(a.outcome)}${a.detail ? ` (${esc(a.detail)})` : ''}</li>`).join('')}</ul>` : ''}`;
    panel.querySelector('#replay')?.addEventListener('click', () => act('replay', m));
    panel.querySelector('#discard')?.addEventListener('click', () => act('discard', m));
    panel.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  function act(action, m) {
    const dialog = root.querySelector('#dialog');
    const form = root.querySelector('#dialog-form');
    root.querySelector('#dialog-title').textContent = action === 'replay' ? `Replay message #${m.parkedId}?` : `Discard message #${m.parkedId}?`;
    root.querySelector('#dialog-text').textContent =
      action === 'replay'
        ? `${m.deployment} runs its handler for this ${m.eventType || 'message'} again. If it fails again, the message stays parked with the new error.`
        : `${m.deployment} marks the message as needing no effect. It stays on record.`;
    root.querySelector('#reason-field').hidden = action !== 'discard';
    form.reason.required = action === 'discard';
    // Signed in, the console records the verified staff id; only with the operator token is a name typed.
    root.querySelector('#operator-field').hidden = me.signIn;
    form.operator.required = !me.signIn;
    form.operator.value = me.signIn ? '' : (localStorage.getItem('lotse.operator') ?? '');
    form.reason.value = '';
    root.querySelector('#dialog-ok').textContent = action === 'replay' ? 'Replay' : 'Discard';
    root.querySelector('#dialog-ok').className = action === 'replay' ? '' : 'danger';
    root.querySelector('#dialog-cancel').onclick = () => dialog.close();
    form.onsubmit = async (e) => {
      e.preventDefault();
      const operator = form.operator.value.trim();
      if (!operator && !me.signIn) return;
      if (!me.signIn) localStorage.setItem('lotse.operator', operator);
      dialog.close();
      let result;
      try {
        const body = action === 'replay' ? { operator } : { operator, reason: form.reason.value };
        const { message } = await api(`/api/dead-letters/${encodeURIComponent(m.deployment)}/${encodeURIComponent(m.parkedId)}/${action}`, { body });
        result = `<div class="ok-box" role="status" id="action-result"><strong>${action === 'replay' ? 'Replayed' : 'Discarded'}.</strong> ${esc(message.deployment)} ${action === 'replay' ? 'processed the message; it is no longer parked.' : 'marked it discarded.'}</div>`;
        toast(`Message #${m.parkedId} ${action === 'replay' ? 'replayed' : 'discarded'}`);
      } catch (error) {
        result = `<div class="error-box" role="alert" id="action-result"><strong>${action === 'replay' ? 'Replay failed' : 'Discard failed'}</strong> (${esc(error.code)}): ${esc(error.message)}</div>`;
      }
      await load();
      await inspect(m.deployment, m.parkedId, result);
    };
    dialog.showModal();
    (form.operator.value || me.signIn ? root.querySelector('#dialog-ok') : form.operator).focus();
  }

  await load();
  ctx.on('dead-letters', () => void load());
  let last = '';
  ctx.on('deployments', (list) => {
    const now = list.map((d) => `${d.id}:${d.outbox?.parked ?? '-'}`).join(',');
    if (last && now !== last) void load();
    last = now;
  });
}

function key(m) {
  return `${m.deployment}/${m.parkedId}`;
}
