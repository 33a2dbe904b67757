// WeChat Pay complaints (维权): the legal deadline counting down, the quarter-left warning and
// the overdue state, a complaint the customer rejected standing out, and a resolve dialog with
// an optional message to the customer.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, may } from '../api.js';
import { Badge, Countdown, ErrorLine, Loading, Note, SafeLink, Time, href, html, useApi, useNow, usePage } from '../lib.js';

const STATUSES = ['open', 'reopened', 'processed', 'closed'];

function pictures(c) {
  try { const urls = JSON.parse(c.pic_urls ?? '[]'); return Array.isArray(urls) ? urls.filter((u) => typeof u === 'string') : []; } catch { return []; }
}

function ResolveDialog({ complaint, onClose, onResolved }) {
  const { t } = usePage();
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  // The key is the complaint's state as read: a double click, a retry, a second dialog or a
  // second tab resolve (and message the customer) once; a new state is a new resolve.
  const key = `resolve:${complaint.feedback_id}:${complaint.status}:${complaint.updated_at ?? ''}`;
  const box = useRef(null);
  useEffect(() => {
    box.current?.querySelector('textarea')?.focus();
    const onKey = (e) => { if (e.key === 'Escape') onClose(); };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const text = message.trim();
      await api(`/api/complaints/${encodeURIComponent(complaint.feedback_id)}/resolve`, {
        method: 'POST', body: text ? { message: text } : {}, headers: { 'idempotency-key': key },
      });
      onResolved(complaint.feedback_id);
    } catch (err) { setError(err); setBusy(false); }
  };
  return html`<div class="modal-backdrop" onClick=${(e) => { if (e.target === e.currentTarget) onClose(); }}>
    <form class="modal" role="dialog" aria-modal="true" aria-labelledby="resolve-title" ref=${box} onSubmit=${submit}>
      <h3 id="resolve-title">${t('resolveComplaint', complaint.feedback_id)}</h3>
      ${complaint.reason && html`<p><span class="muted">${t('reason')}:</span> ${complaint.reason}</p>`}
      <label>${t('messageOptional')}<textarea id="complaint-message" rows="4" value=${message} onInput=${(e) => setMessage(e.currentTarget.value)}></textarea></label>
      <p class="muted">${t('messageHelp')}</p>
      <${ErrorLine} error=${error} />
      <div class="buttons end">
        <button type="button" class="secondary" onClick=${onClose}>${t('cancel')}</button>
        <button id="confirm-resolve" type="submit" disabled=${busy}>${t('resolve')}</button>
      </div>
    </form>
  </div>`;
}

function Complaint({ c, now, focused, onResolve }) {
  const { t, me } = usePage();
  const waiting = c.status === 'open' || c.status === 'reopened';
  const quarter = waiting && now >= c.warning_due && now < c.deadline;
  const overdue = waiting && now >= c.deadline;
  const pics = pictures(c);
  return html`<li class=${`complaint card state-${c.status}${c.status === 'reopened' ? ' escalated' : ''}${overdue ? ' is-overdue' : ''}${focused ? ' focused' : ''}`} data-fid=${c.feedback_id}>
    <div class="complaint-head">
      <strong class="fid">${c.feedback_id}</strong>
      <${Badge} kind="cs" prefix="cs_" value=${c.status} />
      ${c.status === 'reopened' && html`<strong class="escalated-label">⚠ ${t('escalated')}</strong>`}
      ${overdue && html`<strong class="overdue">${t('overdue')}</strong>`}
      ${quarter && html`<strong class="warning">${t('quarterLeft')}</strong>`}
    </div>
    ${c.status === 'reopened' && html`<p class="escalated-help">${t('escalatedHelp')}</p>`}
    <dl class="facts">
      <div class="field"><dt>${t('deadline')}</dt><dd><${Time} at=${c.deadline} long /> ${waiting && html`<${Countdown} due=${c.deadline} total=${c.deadline - c.opened_at} />`}</dd></div>
      <div class="field"><dt>${t('reason')}</dt><dd>${c.reason ?? ''}</dd></div>
      ${c.solution && html`<div class="field"><dt>${t('solution')}</dt><dd>${c.solution}</dd></div>`}
      <div class="field"><dt>${t('openedAt')}</dt><dd><${Time} at=${c.opened_at} /></dd></div>
      <div class="field"><dt>${t('goods')}</dt><dd>${c.goods_kind ? t.maybe('goods_', c.goods_kind) : t('unknown')} · ${t('delivered')}: ${c.delivered === 1 ? t('yes') : c.delivered === 0 ? t('no') : t('unknown')}</dd></div>
      ${c.trans_id && html`<div class="field"><dt>${t('transId')}</dt><dd>${c.trans_id}</dd></div>`}
      ${c.resolved_at && html`<div class="field"><dt>${t('resolvedAt')}</dt><dd><${Time} at=${c.resolved_at} /></dd></div>`}
      ${c.closed_at && html`<div class="field"><dt>${t('closedAt')}</dt><dd><${Time} at=${c.closed_at} /></dd></div>`}
      ${pics.length > 0 && html`<div class="field"><dt>${t('pictures')}</dt><dd>${pics.map((u, i) => html`<${SafeLink} url=${u}>${t('picture', i + 1)}<//> `)}</dd></div>`}
    </dl>
    ${waiting && may(me, 'lead') && html`<div class="buttons"><button type="button" class="resolve-complaint" data-fid=${c.feedback_id} onClick=${() => onResolve(c)}>${t('resolve')}</button></div>`}
  </li>`;
}

export function Complaints({ query }) {
  const { t } = usePage();
  const status = query.get('status') ?? '';
  const focus = query.get('fid');
  const { data, error, reload } = useApi(`/api/complaints?limit=200${status ? `&status=${encodeURIComponent(status)}` : ''}`, 15_000);
  const now = useNow(5000);
  const [resolving, setResolving] = useState(null);
  const [note, setNote] = useState(null);
  const list = data?.complaints ?? [];
  return html`<section class="complaints-view">
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>${t('status')}<select name="status" value=${status} onChange=${(e) => { location.hash = href('complaints', undefined, { status: e.currentTarget.value }); }}>
        <option value="">${t('any')}</option>
        ${STATUSES.map((s) => html`<option value=${s}>${t(`cs_${s}`)}</option>`)}
      </select></label>
    </form>
    <${Note} text=${note} />
    <${ErrorLine} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && list.length === 0 && html`<p class="empty">${t('noComplaints')}</p>`}
    <ul class="complaints">${list.map((c) => html`<${Complaint} key=${c.feedback_id} c=${c} now=${now} focused=${c.feedback_id === focus} onResolve=${(x) => { setNote(null); setResolving(x); }} />`)}</ul>
    ${resolving && html`<${ResolveDialog} complaint=${resolving} onClose=${() => setResolving(null)}
      onResolved=${(fid) => { setResolving(null); setNote(t('complaintResolved', fid)); reload(); }} />`}
  </section>`;
}
