// What every view shares: the page context (language, time zone, who is signed in), loading
// from the API with refresh, the clock, formatting in the merchant's time zone, and small
// components. Nothing here renders HTML from data: every value goes through Preact as text.
import { createContext, h } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { api } from './api.js';
import { errorText, span } from './i18n.js';

export const html = htm.bind(h);

// { t, lang, zone, me }
export const Page = createContext(null);
export const usePage = () => useContext(Page);

// ---- routes: #/view/id?filters (never a token) --------------------------------------------
export function parseRoute(hash = location.hash) {
  const [pathPart, queryPart = ''] = (hash || '#/queue').replace(/^#/, '').split('?');
  const [, view = 'queue', id] = pathPart.split('/');
  return { view: view || 'queue', id: id ? decodeURIComponent(id) : undefined, query: new URLSearchParams(queryPart) };
}
export function href(view, id, query) {
  const q = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
  return `#/${view}${id !== undefined ? `/${encodeURIComponent(id)}` : ''}${q ? `?${q}` : ''}`;
}

// ---- time -----------------------------------------------------------------------------------
export const nowSecs = () => Math.floor(Date.now() / 1000);

export function useNow(everyMs = 1000) {
  const [now, setNow] = useState(nowSecs());
  useEffect(() => {
    const id = setInterval(() => setNow(nowSecs()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}

const formats = new Map();
function format(lang, zone, options) {
  const key = `${lang}|${zone}|${JSON.stringify(options)}`;
  if (!formats.has(key)) {
    let f;
    try { f = new Intl.DateTimeFormat(lang, { timeZone: zone, ...options }); } catch { f = new Intl.DateTimeFormat(lang, { timeZone: 'Asia/Shanghai', ...options }); }
    formats.set(key, f);
  }
  return formats.get(key);
}
export function formatTime(secs, { lang, zone }, options = { dateStyle: 'short', timeStyle: 'short' }) {
  if (secs === null || secs === undefined || Number.isNaN(Number(secs))) return '';
  return format(lang, zone, options).format(new Date(Number(secs) * 1000));
}
// The day (YYYY-MM-DD) that a moment falls on in the merchant's time zone.
export function dayOf(secs, zone) {
  return format('en-CA', zone, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(secs * 1000));
}

// A time in the merchant's zone, with the full date and the zone on hover.
export function Time({ at, long }) {
  const page = usePage();
  if (at === null || at === undefined) return null;
  const full = formatTime(at, page, { dateStyle: 'full', timeStyle: 'long' });
  return html`<time title=${full} datetime=${new Date(at * 1000).toISOString()}>${formatTime(at, page, long ? { dateStyle: 'medium', timeStyle: 'short' } : undefined)}</time>`;
}

// Money in the currency's smallest unit (fen for CNY, đồng for VND), as the card shop sends it.
export function formatMoney(amount, currency, lang) {
  if (amount === null || amount === undefined) return '';
  if (!currency) return String(amount);
  try {
    const f = new Intl.NumberFormat(lang, { style: 'currency', currency });
    const digits = f.resolvedOptions().maximumFractionDigits;
    return f.format(amount / 10 ** digits);
  } catch {
    return `${amount} ${currency}`;
  }
}

// ---- loading --------------------------------------------------------------------------------
// Loads `path` (again every `refreshMs` while the tab is visible); `reload()` fetches at once.
// A newer answer always wins over an older one still in flight.
export function useApi(path, refreshMs) {
  const [state, setState] = useState({ data: null, error: null, at: null });
  const seq = useRef(0);
  const reload = useCallback(() => {
    if (!path) return Promise.resolve();
    const mine = ++seq.current;
    return api(path).then(
      (data) => { if (mine === seq.current) setState({ data, error: null, at: nowSecs() }); },
      (error) => { if (mine === seq.current) setState((s) => ({ ...s, error })); },
    );
  }, [path]);
  useEffect(() => {
    setState((s) => ({ ...s, error: null }));
    reload();
    if (!refreshMs) return undefined;
    const id = setInterval(() => { if (document.visibilityState !== 'hidden') reload(); }, refreshMs);
    const onVisible = () => { if (document.visibilityState === 'visible') reload(); };
    document.addEventListener('visibilitychange', onVisible);
    return () => { clearInterval(id); document.removeEventListener('visibilitychange', onVisible); };
  }, [reload, refreshMs]);
  return { ...state, reload };
}

// ---- small components -----------------------------------------------------------------------
export function ErrorLine({ error }) {
  const { t } = usePage();
  if (!error) return null;
  const detail = error.reason && error.code !== 'unauthenticated' ? error.reason : null;
  return html`<div class="error" role="alert"><span>${error.text ?? errorText(error, t)}</span>
    ${detail && html`<details class="detail"><summary>${t('errDetail')}</summary><code>${detail}</code></details>`}</div>`;
}

export function Note({ text }) {
  return text ? html`<p class="note" role="status">${text}</p>` : null;
}

export function Loading() {
  const { t } = usePage();
  return html`<p class="muted">${t('loading')}</p>`;
}

// A countdown to `due`: ok, then `soon` once less than a quarter of `total` is left, then
// `breached`. Its title is the due time itself.
export function Countdown({ due, total, label }) {
  const page = usePage();
  const { t } = page;
  const now = useNow();
  if (due === null || due === undefined) return html`<span class="due none">${t('dueNone')}</span>`;
  const left = due - now;
  const cls = left < 0 ? 'breached' : total > 0 && left < total / 4 ? 'soon' : 'ok';
  const share = total > 0 ? Math.max(0, Math.min(1, left / total)) : null;
  return html`<span class=${`due ${cls}`} title=${formatTime(due, page, { dateStyle: 'medium', timeStyle: 'medium' })}>
    ${label && html`<span class="due-label">${label}</span>`}
    <span class="due-text">${left < 0 ? t('breachedAgo', span(left, t)) : t('left', span(left, t))}</span>
    ${share !== null && html`<span class="bar" aria-hidden="true"><span class=${`fill w${Math.round(share * 20) * 5}`}></span></span>`}
  </span>`;
}

export function Badge({ kind, value, prefix }) {
  const { t } = usePage();
  if (value === null || value === undefined) return null;
  return html`<span class=${`badge ${kind}-${value}`}>${t.maybe(prefix, value)}</span>`;
}

// Each channel's mark (decorative: its name is beside it), so a queue of mixed channels scans.
const CHANNEL_MARKS = { oa: '微', shop: '店', payfeedback: '¥', orders: '卡', zalo: 'Z' };

// A channel's mark and its translated name.
export function Channel({ value }) {
  const { t } = usePage();
  return html`<span class=${`channel ch-${value}`}><span class="ch-mark" aria-hidden="true">${CHANNEL_MARKS[value] ?? '•'}</span> ${t.maybe('ch_', value)}</span>`;
}

// A link only for http(s) addresses (never `javascript:`), opened without a referrer.
export function SafeLink({ url, children }) {
  if (!/^https?:\/\//i.test(url ?? '')) return html`<span>${children ?? url}</span>`;
  return html`<a href=${url} target="_blank" rel="noopener noreferrer nofollow">${children ?? url}</a>`;
}
