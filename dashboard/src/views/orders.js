// Card-shop orders: the list, and one order with its events, tickets and complaints.
import { Badge, ErrorLine, Loading, Time, formatMoney, href, html, useApi, usePage } from '../lib.js';
import { OrderCard } from './ticket.js';

const STATUSES = ['paid', 'delivered', 'delivery_failed', 'delayed', 'refund_requested', 'refunded'];

export function Orders({ query }) {
  const { t, lang } = usePage();
  const status = query.get('status') ?? '';
  const { data, error } = useApi(`/api/orders?limit=200${status ? `&status=${encodeURIComponent(status)}` : ''}`, 30_000);
  const list = data?.orders ?? [];
  return html`<section class="orders-view">
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>${t('status')}<select name="status" value=${status} onChange=${(e) => { location.hash = href('orders', undefined, { status: e.currentTarget.value }); }}>
        <option value="">${t('any')}</option>
        ${STATUSES.map((s) => html`<option value=${s}>${t(`os_${s}`)}</option>`)}
      </select></label>
    </form>
    <${ErrorLine} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && list.length === 0 && html`<p class="empty">${t('noOrders')}</p>`}
    <ul class="rows orders">${list.map((o) => html`<li key=${o.id} data-order=${o.id}>
      <a class="row-link" href=${href('orders', o.id)}>
        <span class="id">${o.id}</span>
        <span class="product">${o.product ?? ''}</span>
        <span class="amount">${formatMoney(o.amount, o.currency, lang)}</span>
        <span><${Badge} kind="os" prefix="os_" value=${o.status} /></span>
        <span class="who">${o.customer_name ?? ''}</span>
        <span class="when muted"><${Time} at=${o.updated_at} /></span>
      </a>
    </li>`)}</ul>
  </section>`;
}

// What a stored card-shop event says: its type and the customer's message (the API reads both
// out of the payload, which agents do not see whole).
function eventParts(e) {
  return { type: e.type ?? e.kind, message: e.message ?? '' };
}

export function OrderView({ id }) {
  const { t } = usePage();
  const { data, error } = useApi(`/api/orders/${encodeURIComponent(id)}`, 30_000);
  if (!data) return html`<section><a class="back" href=${href('orders')}>${t('back')}</a><${ErrorLine} error=${error} />${!error && html`<${Loading} />`}</section>`;
  const o = data.order;
  return html`<section class="order-view" data-order=${o.id}>
    <a class="back" href=${href('orders')}>${t('back')}</a>
    <h2>${t('order')} <span class="id">${o.id}</span></h2>
    <div class="two-col">
      <div class="card">
        <${OrderCard} order=${o} />
        <dl class="facts">
          ${o.customer_name && html`<div class="field"><dt>${t('customer')}</dt><dd>${o.customer_name}</dd></div>`}
          ${o.customer_phone && html`<div class="field"><dt>${t('phone')}</dt><dd>${o.customer_phone}</dd></div>`}
          ${o.customer_email && html`<div class="field"><dt>${t('email')}</dt><dd>${o.customer_email}</dd></div>`}
          ${o.customer_openid && html`<div class="field"><dt>${t('openid')}</dt><dd>${o.customer_openid}</dd></div>`}
        </dl>
      </div>
      <div>
        <div class="card"><h3>${t('tickets')}</h3>
          ${data.tickets.length === 0 ? html`<p class="muted">${t('noneYet')}</p>` : html`<ul class="plain">${data.tickets.map((tk) => html`<li>
            <a href=${href('ticket', tk.id)}>#${tk.id}</a> ${t.maybe('cat_', tk.category)} <${Badge} kind="ts" prefix="ts_" value=${tk.status} /> <${Badge} kind="pr" prefix="pr_" value=${tk.priority} />
          </li>`)}</ul>`}
        </div>
        <div class="card"><h3>${t('complaints')}</h3>
          ${data.complaints.length === 0 ? html`<p class="muted">${t('noneYet')}</p>` : html`<ul class="plain">${data.complaints.map((c) => html`<li>
            <a href=${href('complaints', undefined, { fid: c.feedback_id })}>${c.feedback_id}</a> <${Badge} kind="cs" prefix="cs_" value=${c.status} /> ${t('deadline')}: <${Time} at=${c.deadline} />
          </li>`)}</ul>`}
        </div>
      </div>
    </div>
    <div class="card"><h3>${t('events')}</h3>
      ${data.events.length === 0 ? html`<p class="muted">${t('noneYet')}</p>` : html`<ol class="timeline events">${data.events.map((e) => {
        const { type, message } = eventParts(e);
        return html`<li class="entry kind-status"><div class="entry-head"><span class="kind">${t.maybe('ev_', type)}</span><${Time} at=${e.received_at} /></div>
          ${message && html`<p class="body">${message}</p>`}</li>`;
      })}</ol>`}
    </div>
  </section>`;
}
