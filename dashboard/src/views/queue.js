// The queue: tickets by status, channel, category, priority and assignee, most urgent first as
// the API orders them, each counting down to its next due time. Refreshes itself.
import { Badge, Channel, Countdown, ErrorLine, Loading, Time, href, html, usePage, formatTime } from '../lib.js';
import { useApi } from '../lib.js';

export const FILTERS = {
  status: { prefix: 'ts_', values: ['open', 'pending', 'resolved', 'closed'] },
  channel: { prefix: 'ch_', values: ['oa', 'shop', 'payfeedback', 'orders', 'zalo'] },
  category: { prefix: 'cat_', values: ['general', 'not_delivered', 'invalid_card', 'delayed', 'refund', 'complaint'] },
  priority: { prefix: 'pr_', values: ['urgent', 'high', 'normal'] },
};
const REFRESH_MS = 5000;

// The time a ticket's current due window spans, for the countdown's colour.
export function windowOf(tk) {
  if (tk.due_kind === 'first_response') return tk.first_response_due - tk.created_at;
  if (tk.due_kind === 'resolution') return tk.resolution_due - tk.created_at;
  return 0;
}

export function Queue({ query }) {
  const page = usePage();
  const { t, me } = page;
  // The filters live in the address (#/queue?status=open), so Back returns to the same list.
  const filters = {};
  for (const name of [...Object.keys(FILTERS), 'assignee']) {
    const v = query.get(name);
    if (v) filters[name] = v;
  }
  const api = new URLSearchParams({ ...filters, limit: '200' });
  const { data, error, at } = useApi(`/api/tickets?${api}`, REFRESH_MS);
  const go = (next) => { location.hash = href('queue', undefined, { ...filters, ...next }); };
  const tickets = data?.tickets ?? [];
  return html`<section class="queue">
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label=${t('filters')}>
      ${Object.entries(FILTERS).map(([name, { prefix, values }]) => html`<label>${t(name)}
        <select name=${name} value=${filters[name] ?? ''} onChange=${(e) => go({ [name]: e.currentTarget.value })}>
          <option value="">${t('any')}</option>
          ${values.map((v) => html`<option value=${v}>${t(prefix + v)}</option>`)}
        </select></label>`)}
      <label>${t('assignee')}
        <input name="assignee" value=${filters.assignee ?? ''} list="assignees" autocomplete="off"
          onChange=${(e) => go({ assignee: e.currentTarget.value.trim() })} /></label>
      <datalist id="assignees"><option value=${me.name} /></datalist>
      <button type="button" class=${`secondary ${filters.assignee === me.name ? 'pressed' : ''}`} id="filter-mine"
        aria-pressed=${filters.assignee === me.name} onClick=${() => go({ assignee: filters.assignee === me.name ? '' : me.name })}>${t('mine')}</button>
    </form>
    <div class="list-head">
      <strong>${t('ticketCount', tickets.length)}</strong>
      ${at && html`<span class="muted" aria-live="off">${t('updatedAt', formatTime(at, page, { timeStyle: 'medium' }))}</span>`}
    </div>
    <${ErrorLine} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && tickets.length === 0 && html`<p class="empty">${t('noTickets')}</p>`}
    <ul class="tickets">${tickets.map((tk) => html`<li key=${tk.id} class=${`ticket prio-${tk.priority}`} data-ticket=${tk.id}>
      <a class="ticket-link" href=${href('ticket', tk.id)}>
        <span class="id">#${tk.id}</span>
        <span class="who">${tk.customer_name || tk.customer_id}</span>
        <span class="tags"><${Badge} kind="pr" prefix="pr_" value=${tk.priority} /> <${Channel} value=${tk.channel} /> · <span>${t.maybe('cat_', tk.category)}</span></span>
        <span class="state"><${Badge} kind="ts" prefix="ts_" value=${tk.status} /> <span class="assignee">${tk.assignee ?? ''}</span></span>
        <span class="countdown"><${Countdown} due=${tk.due_at} total=${windowOf(tk)} label=${tk.due_kind ? t(`due_${tk.due_kind}`) : null} /></span>
        <span class="when muted"><${Time} at=${tk.updated_at} /></span>
      </a>
    </li>`)}</ul>
  </section>`;
}
