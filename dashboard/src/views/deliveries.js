// Outbound calls and dead letters: what could not be done, with its reason, and a replay button
// that puts it back in line.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, ErrorLine, Loading, Note, Time, formatTime, href, html, useApi, usePage } from '../lib.js';

const STATES = ['pending', 'sending', 'retrying', 'delivered', 'dead'];
const TARGETS = { custom_send: 'wechat_custom_send', payfeedback_update: 'payfeedback_update', wecom_robot: 'wecom_robot', zns: 'caresoft_zns' };

// Where a delivery's dead letter was going, from the call it carries (named by its only key).
function targetOf(d) {
  if (d.source !== 'delivery') return null;
  try { const call = Object.keys(JSON.parse(d.body) ?? {})[0]; return TARGETS[call] ?? call ?? null; } catch { return null; }
}

export function Deliveries({ query }) {
  const page = usePage();
  const { t } = page;
  const state = query.get('state') ?? '';
  const deliveries = useApi(`/api/deliveries?limit=100${state ? `&state=${encodeURIComponent(state)}` : ''}`, 15_000);
  const dead = useApi('/api/dead-letters?limit=100', 15_000);
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(null);
  const replay = async (id) => {
    setBusy(id); setNote(null); setError(null);
    try {
      await api(`/api/dead-letters/${id}/replay`, { method: 'POST' });
      setNote(t('replayed', id));
      dead.reload(); deliveries.reload();
    } catch (err) { setError(err); }
    setBusy(null);
  };
  const letters = dead.data?.dead_letters ?? [];
  const list = deliveries.data?.deliveries ?? [];
  return html`<section class="deliveries-view">
    <h2>${t('deadLetters')}</h2>
    <p class="muted">${t('deadLettersHelp')}</p>
    <${Note} text=${note} />
    <${ErrorLine} error=${error ?? dead.error} />
    ${!dead.data && !dead.error && html`<${Loading} />`}
    ${dead.data && letters.length === 0 && html`<p class="empty">${t('noDeadLetters')}</p>`}
    <ul class="dead-letters">${letters.map((d) => {
      const target = targetOf(d);
      return html`<li key=${d.id} class=${`card dead-letter${d.replayed_at ? ' replayed' : ''}`} data-id=${d.id}>
        <div class="entry-head">
          <strong>#${d.id}</strong>
          <span>${t(`src_${d.source}`)}</span>
          ${target && html`<span>→ ${t.maybe('actor_', target)}</span>`}
          <${Time} at=${d.created_at} />
        </div>
        <p class="reason"><span class="muted">${t('reason')}:</span> <code>${d.reason}</code></p>
        ${d.delivery_id && html`<p class="muted small">${d.delivery_id}</p>`}
        <div class="buttons">
          ${d.replayed_at && html`<span class="muted">${t('replayedAt', formatTime(d.replayed_at, page))}</span>`}
          <button type="button" class=${`replay${d.replayed_at ? ' secondary' : ''}`} data-id=${d.id} disabled=${busy === d.id} onClick=${() => replay(d.id)}>${t('replay')}</button>
        </div>
      </li>`;
    })}</ul>

    <h2>${t('deliveries')}</h2>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>${t('state')}<select name="state" value=${state} onChange=${(e) => { location.hash = href('deliveries', undefined, { state: e.currentTarget.value }); }}>
        <option value="">${t('any')}</option>
        ${STATES.map((s) => html`<option value=${s}>${t(`ds_${s}`)}</option>`)}
      </select></label>
    </form>
    <${ErrorLine} error=${deliveries.error} />
    ${deliveries.data && list.length === 0 && html`<p class="empty">${t('noDeliveries')}</p>`}
    <ul class="rows deliveries">${list.map((d) => html`<li key=${d.id} class=${`delivery state-${d.state}`}>
      <span class="target">${t.maybe('actor_', d.target)}</span>
      <span><${Badge} kind="ds" prefix="ds_" value=${d.state} /></span>
      <span class="muted">${t('attempts')}: ${d.attempts}</span>
      <span>${d.ticket_id ? html`<a href=${href('ticket', d.ticket_id)}>${t('forTicket', d.ticket_id)}</a>` : ''}</span>
      <span class="when muted"><${Time} at=${d.updated_at} /></span>
      <code class="result">${d.last_result ?? ''}</code>
    </li>`)}</ul>
  </section>`;
}
