// One ticket: its whole timeline (the customer's messages with their type, agents' sessions and
// actions, every message sent and its outcome), the linked order and complaints, and the
// actions: reply (the page says which channel it takes and why), assign, resolve, close, reopen.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { failedOutbound, inboundParts, timelineText } from '../i18n.js';
import { Badge, Countdown, ErrorLine, Loading, Note, SafeLink, Time, formatMoney, href, html, useApi, usePage } from '../lib.js';
import { windowOf } from './queue.js';

const MAX_REPLY_BYTES = 2048;
const bytes = (s) => new TextEncoder().encode(s.trim()).length;

function Entry({ e }) {
  const { t } = usePage();
  // A system's name is translated; a person's (a customer's, an agent's) is kept as it is.
  const actor = !e.actor ? '' : e.kind !== 'inbound' || e.actor === 'card_shop' ? t.maybe('actor_', e.actor) : e.actor;
  let type = null; let text;
  if (e.kind === 'inbound') ({ type, text } = inboundParts(e.body, t));
  else text = timelineText(e.body, t, e.kind);
  const failed = e.kind === 'outbound' && failedOutbound(e.body);
  const url = type && /^https?:\/\/\S+$/.test(text) ? text : null;
  return html`<li class=${`entry kind-${e.kind}${failed ? ' failed' : ''}`} data-entry=${e.id}>
    <div class="entry-head">
      <span class="kind">${t.maybe('kind_', e.kind)}</span>
      ${actor && html`<span class="actor">${actor}</span>`}
      ${e.kind === 'outbound' && html`<span class=${`badge outcome-${failed ? 'failed' : 'ok'}`}>${t(failed ? 'outcome_failed' : 'outcome_ok')}</span>`}
      <${Time} at=${e.at} />
    </div>
    <p class="body">${type && html`<span class="msg-type">${type}</span> `}${url ? html`<${SafeLink} url=${url} />` : text}</p>
  </li>`;
}

// What the customer's channel still allows: the window's end and the messages left.
function WindowLine({ window }) {
  const { t } = usePage();
  if (!window) return null;
  if (window.open_until === null) return html`<p class="muted" id="reach-window">${t('windowUnknown', window.sends_left)}</p>`;
  return html`<p class="muted" id="reach-window">${t('windowUntil')} <${Time} at=${window.open_until} long /> · ${t('sendsLeft', window.sends_left)}</p>`;
}

function Reply({ ticket, reach, onSent }) {
  const { t } = usePage();
  const [text, setText] = useState('');
  // A Shop buyer can also get a product or order card; the order they shared is offered.
  const [kind, setKind] = useState('text');
  const [cardId, setCardId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const size = bytes(text);
  const unreachable = reach.channel === 'none';
  const shop = ticket.channel === 'shop';
  const card = kind !== 'text';
  const ready = card ? /^\d{1,32}$/.test(cardId.trim()) : text.trim() && size <= MAX_REPLY_BYTES;
  const pick = (k) => { setKind(k); setCardId(k === 'order' && ticket.order_id ? ticket.order_id : ''); };
  const send = async (e) => {
    e?.preventDefault();
    if (busy || !ready || unreachable) return;
    setBusy(true); setError(null); setNote(null);
    const body = kind === 'product' ? { product_id: cardId.trim() } : kind === 'order' ? { order_id: cardId.trim() } : { text: text.trim() };
    try {
      const answer = await api(`/api/tickets/${ticket.id}/reply`, { method: 'POST', body });
      setText(''); if (card) setCardId('');
      setNote(t('replyQueued', t.maybe('channel_', answer.channel)));
      onSent();
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const channel = t.maybe('channel_', reach.channel);
  return html`<form class="reply card" onSubmit=${send}>
    <label for=${card ? 'reply-card-id' : 'reply-text'}>${t('reply')}</label>
    <p class=${`reach reach-${reach.channel}`} id="reach">
      <strong>${t('replyVia', channel)}</strong>: ${reach.reason ? t.maybe('reason_', reach.reason) : reach.why}
    </p>
    <${WindowLine} window=${reach.window} />
    ${shop && html`<fieldset class="reply-kind" disabled=${unreachable}>
      <legend>${t('replyKind')}</legend>
      ${['text', 'product', 'order'].map((k) => html`<label><input type="radio" name="reply-kind" value=${k} checked=${kind === k} onChange=${() => pick(k)} /> ${t(`replyKind_${k}`)}</label>`)}
    </fieldset>`}
    ${card
      ? html`<input id="reply-card-id" inputmode="numeric" autocomplete="off" value=${cardId} disabled=${unreachable}
          placeholder=${t(kind === 'order' ? 'orderIdPlaceholder' : 'productIdPlaceholder')} aria-describedby="reach"
          onInput=${(e) => setCardId(e.currentTarget.value)} />`
      : html`<textarea id="reply-text" rows="3" placeholder=${t('replyPlaceholder')} value=${text} disabled=${unreachable}
      aria-describedby="reach" onInput=${(e) => setText(e.currentTarget.value)}
      onKeyDown=${(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send(e); }}></textarea>`}
    <div class="reply-foot">
      ${!card && html`<span class=${`muted ${size > MAX_REPLY_BYTES ? 'too-long' : ''}`}>${size > MAX_REPLY_BYTES ? t('replyTooLong', MAX_REPLY_BYTES) : t('replyBytes', size, MAX_REPLY_BYTES)} · ${t('sendHint')}</span>`}
      <button id="send-reply" type="submit" disabled=${busy || unreachable || !ready}>${busy ? t('sending') : t('send')}</button>
    </div>
    ${unreachable && html`<p class="muted">${t('replyNoChannel')}</p>`}
    <${Note} text=${note} />
    <${ErrorLine} error=${error} />
  </form>`;
}

function Actions({ ticket, onDone }) {
  const { t, me } = usePage();
  const [assignee, setAssignee] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const act = async (verb, body) => {
    setBusy(true); setError(null); setNote(null);
    try {
      await api(`/api/tickets/${ticket.id}/${verb}`, { method: 'POST', body: body ?? {} });
      setNote(t('done'));
      setAssignee('');
      onDone();
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const s = ticket.status;
  const active = s === 'open' || s === 'pending';
  return html`<div class="card actions">
    <h3>${t('actions')}</h3>
    ${s !== 'closed' && html`<div class="assign-row">
      <label>${t('assignTo')}<input id="assignee-input" value=${assignee} list="assignee-names" autocomplete="off" onInput=${(e) => setAssignee(e.currentTarget.value)} /></label>
      <datalist id="assignee-names"><option value=${me.name} /></datalist>
      <button id="assign" type="button" disabled=${busy || !assignee.trim()} onClick=${() => act('assign', { assignee: assignee.trim() })}>${t('assign')}</button>
    </div>
    <div class="buttons">
      ${ticket.assignee !== me.name && html`<button id="assign-me" type="button" class="secondary" disabled=${busy} onClick=${() => act('assign', { assignee: me.name })}>${t('assignToMe')}</button>`}
      ${ticket.assignee && html`<button id="unassign" type="button" class="secondary" disabled=${busy} onClick=${() => act('assign', { assignee: null })}>${t('unassign')}</button>`}
    </div>`}
    <div class="buttons">
      ${active && html`<button id="resolve" type="button" disabled=${busy} onClick=${() => act('resolve')}>${t('resolve')}</button>`}
      ${s !== 'closed' && html`<button id="close" type="button" class="secondary" disabled=${busy} onClick=${() => act('close')}>${t('close')}</button>`}
      ${!active && html`<button id="reopen" type="button" class="secondary" disabled=${busy} onClick=${() => act('reopen')}>${t('reopen')}</button>`}
    </div>
    <${Note} text=${note} />
    <${ErrorLine} error=${error} />
  </div>`;
}

// A fact worth a line only when it is known: `value` (or else the children) decides.
export function Field(props) {
  const { label, children } = props;
  const value = 'value' in props ? props.value : children;
  if (value === null || value === undefined || value === '' || value === false) return null;
  return html`<div class="field"><dt>${label}</dt><dd>${children}</dd></div>`;
}

export function OrderCard({ order }) {
  const { t, lang } = usePage();
  const overdue = !order.delivered_at && order.deliver_by && order.deliver_by < Date.now() / 1000 && order.status !== 'refunded';
  return html`<dl class="facts">
    <${Field} label=${t('order')}><a href=${href('orders', order.id)}>${order.id}</a><//>
    <${Field} label=${t('product')}>${order.product}<//>
    <${Field} label=${t('amount')}>${formatMoney(order.amount, order.currency, lang)}<//>
    <${Field} label=${t('status')}><${Badge} kind="os" prefix="os_" value=${order.status} /> ${overdue && html`<span class="overdue">${t('deliveryOverdue')}</span>`}<//>
    <${Field} label=${t('goods')}>${order.goods_kind && t.maybe('goods_', order.goods_kind)}<//>
    <${Field} label=${t('paidAt')} value=${order.paid_at}><${Time} at=${order.paid_at} /><//>
    <${Field} label=${t('deliveredAt')}>${order.delivered_at ? html`<${Time} at=${order.delivered_at} />` : t('notDelivered')}<//>
    ${!order.delivered_at && order.deliver_by && html`<${Field} label=${t('deliverBy')} value=${order.deliver_by}><${Time} at=${order.deliver_by} /><//>`}
    <${Field} label=${t('transId')}>${order.trans_id}<//>
  </dl>`;
}

export function TicketView({ id }) {
  const { t } = usePage();
  const [fast, setFast] = useState(0);
  // After a reply or an action, look again often for a while: its outcome comes from the queue.
  const { data, error, reload } = useApi(`/api/tickets/${encodeURIComponent(id)}`, fast ? 2000 : 10_000);
  useEffect(() => {
    if (!fast) return undefined;
    const timer = setTimeout(() => setFast(0), 30_000);
    return () => clearTimeout(timer);
  }, [fast]);
  const changed = () => { reload(); setFast(Date.now()); };
  if (!data) return html`<section><a href=${href('queue')} class="back">${t('back')}</a><${ErrorLine} error=${error} />${!error && html`<${Loading} />`}</section>`;
  const tk = data.ticket;
  return html`<section class="ticket-view" data-ticket=${tk.id}>
    <a href=${href('queue')} class="back">${t('back')}</a>
    <header class="ticket-head">
      <h2><span class="id">${t('ticket')} #${tk.id}</span> <span class="who">${tk.customer_name || tk.customer_id}</span></h2>
      <div class="tags">
        <${Badge} kind="ts" prefix="ts_" value=${tk.status} />
        <${Badge} kind="pr" prefix="pr_" value=${tk.priority} />
        <span>${t.maybe('ch_', tk.channel)}</span> · <span>${t.maybe('cat_', tk.category)}</span>
        · <span>${t('assignee')}: <strong class="assignee">${tk.assignee ?? t('none')}</strong></span>
      </div>
      <${Countdown} due=${tk.due_at} total=${windowOf(tk)} label=${tk.due_kind ? t(`due_${tk.due_kind}`) : null} />
    </header>
    <${ErrorLine} error=${error} />
    <div class="ticket-grid">
      <${Actions} ticket=${tk} onDone=${changed} />
      <div class="conversation">
        <h3>${t('timeline')}</h3>
        ${data.timeline.length === 0 && html`<p class="empty">${t('noTimeline')}</p>`}
        <ol class="timeline">${data.timeline.map((e) => html`<${Entry} key=${e.id} e=${e} />`)}</ol>
        ${tk.status !== 'closed' && html`<${Reply} ticket=${tk} reach=${data.reach} onSent=${changed} />`}
      </div>
      <div class="details">
        <div class="card">
          <h3>${t('customer')}</h3>
          <dl class="facts">
            <${Field} label=${t('name')}>${tk.customer_name}<//>
            <${Field} label=${t('phone')}>${tk.customer_phone}<//>
            <${Field} label=${t('email')}>${tk.customer_email}<//>
            <${Field} label=${t('openid')}>${tk.customer_openid ?? (tk.channel !== 'orders' ? tk.customer_id : null)}<//>
            <${Field} label=${t('createdAt')} value=${tk.created_at}><${Time} at=${tk.created_at} /><//>
            <${Field} label=${t('firstResponseAt')} value=${tk.first_response_at}><${Time} at=${tk.first_response_at} /><//>
            <${Field} label=${t('resolvedAt')} value=${tk.resolved_at}><${Time} at=${tk.resolved_at} /><//>
            <${Field} label=${t('caresoftTicket')}>${tk.caresoft_ticket_id}<//>
          </dl>
        </div>
        ${data.order && html`<div class="card order-card"><h3>${t('order')}</h3><${OrderCard} order=${data.order} /></div>`}
        ${data.complaints?.length > 0 && html`<div class="card"><h3>${t('linkedComplaints')}</h3>
          <ul class="plain">${data.complaints.map((c) => html`<li class="complaint-line">
            <a href=${href('complaints', undefined, { fid: c.feedback_id })}>${c.feedback_id}</a>
            <${Badge} kind="cs" prefix="cs_" value=${c.status} />
            ${(c.status === 'open' || c.status === 'reopened') && html`<${Countdown} due=${c.deadline} total=${c.deadline - c.opened_at} />`}
          </li>`)}</ul></div>`}
      </div>
    </div>
  </section>`;
}
