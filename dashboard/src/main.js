// The staff dashboard: Preact views over the admin API. Everything that came from a customer or
// a platform is rendered as text (Preact escapes it; nothing here sets HTML).
import { h, render } from 'preact';
import { useEffect, useState, useCallback } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { api, token, ApiError } from './api.js';
import { LANGUAGES, initialLanguage, remember, timelineText, translator } from './i18n.js';

const html = htm.bind(h);

// ---- time, in the merchant's time zone ----------------------------------------------------
function formatTime(secs, zone, lang) {
  if (secs === null || secs === undefined) return '';
  return new Intl.DateTimeFormat(lang, { timeZone: zone, dateStyle: 'short', timeStyle: 'short' }).format(new Date(secs * 1000));
}
function dayOf(secs, zone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(secs * 1000));
}
function span(secs) {
  const s = Math.abs(secs);
  const d = Math.floor(s / 86400); const hh = Math.floor((s % 86400) / 3600); const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${hh}h` : hh > 0 ? `${hh}h ${m}m` : `${m}m ${s % 60}s`;
}
const nowSecs = () => Math.floor(Date.now() / 1000);

function useNow(everyMs = 1000) {
  const [now, setNow] = useState(nowSecs());
  useEffect(() => { const id = setInterval(() => setNow(nowSecs()), everyMs); return () => clearInterval(id); }, [everyMs]);
  return now;
}

// Loads `path` (again every `refreshMs` when given); `reload` fetches at once.
function useApi(path, refreshMs) {
  const [state, setState] = useState({ data: null, error: null });
  const reload = useCallback(() => {
    if (!path) return;
    api(path).then((data) => setState({ data, error: null }), (error) => setState((s) => ({ data: s.data, error })));
  }, [path]);
  useEffect(() => {
    reload();
    if (!refreshMs) return undefined;
    const id = setInterval(reload, refreshMs);
    return () => clearInterval(id);
  }, [reload, refreshMs]);
  return { ...state, reload };
}

// A countdown to `due`: its class says how much is left (ok, soon, breached).
function Countdown({ due, total, t }) {
  const now = useNow();
  if (due === null || due === undefined) return html`<span class="due none">—</span>`;
  const left = due - now;
  const cls = left < 0 ? 'breached' : total && left < total / 4 ? 'soon' : 'ok';
  return html`<span class=${`due ${cls}`}>${left < 0 ? `${t('breached')} ${span(left)}` : `${span(left)} ${t('left')}`}</span>`;
}

function ErrorLine({ error }) {
  return error ? html`<p class="error" role="alert">${error.message}</p>` : null;
}

// ---- sign-in --------------------------------------------------------------------------------
function SignIn({ t, onSignedIn }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    try {
      const me = await api('/api/me', { bearer: value.trim() });
      token.set(value.trim());
      onSignedIn(me);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new Error(t('wrongToken')) : err);
    }
  };
  return html`<form class="signin" onSubmit=${submit}>
    <h1>${t('title')}</h1>
    <label>${t('tokenLabel')}<input id="token" type="password" autocomplete="current-password" value=${value} onInput=${(e) => setValue(e.target.value)} /></label>
    <button id="sign-in" type="submit">${t('signIn')}</button>
    <${ErrorLine} error=${error} />
  </form>`;
}

// ---- queue ----------------------------------------------------------------------------------
// Each filter's values, and the prefix of their translations.
const PREFIX = { status: 'st', channel: 'ch', category: 'cat', priority: 'pr' };
const FILTERS = {
  status: ['open', 'pending', 'resolved', 'closed'],
  channel: ['oa', 'shop', 'payfeedback', 'orders'],
  category: ['general', 'not_delivered', 'invalid_card', 'delayed', 'refund', 'complaint'],
  priority: ['normal', 'high', 'urgent'],
};

function Queue({ t, zone, lang }) {
  const [filters, setFilters] = useState({ status: 'open' });
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
  const { data, error } = useApi(`/api/tickets?${query}`, 10_000);
  const set = (name) => (e) => setFilters({ ...filters, [name]: e.target.value });
  return html`<section>
    <div class="filters">
      ${Object.entries(FILTERS).map(([name, values]) => html`<label>${t(name)}
        <select name=${name} value=${filters[name] ?? ''} onChange=${set(name)}>
          <option value="">${t('any')}</option>
          ${values.map((v) => html`<option value=${v}>${t(`${PREFIX[name]}_${v}`)}</option>`)}
        </select></label>`)}
      <label>${t('assignee')}<input name="assignee" value=${filters.assignee ?? ''} onChange=${set('assignee')} /></label>
    </div>
    <${ErrorLine} error=${error} />
    ${data && (data.tickets.length === 0 ? html`<p>${t('noTickets')}</p>` : html`<ul class="tickets">
      ${data.tickets.map((tk) => html`<li class=${`ticket prio-${tk.priority}`}>
        <a href=${`#/ticket/${tk.id}`} class="ticket-link">#${tk.id} · ${t(`ch_${tk.channel}`)} · ${t(`cat_${tk.category}`)}</a>
        <span class="who">${tk.customer_name ?? tk.customer_id}</span>
        <span class="status">${t(`st_${tk.status}`)}</span>
        <span>${tk.assignee ?? ''}</span>
        <span>${tk.due_kind ? t(tk.due_kind === 'first_response' ? 'firstResponse' : 'resolution') : ''}
          <${Countdown} due=${tk.due_at} total=${tk.due_kind === 'first_response' ? tk.first_response_due - tk.created_at : tk.resolution_due - tk.created_at} t=${t} /></span>
        <time>${formatTime(tk.updated_at, zone, lang)}</time>
      </li>`)}
    </ul>`)}
  </section>`;
}

// ---- one ticket -----------------------------------------------------------------------------
function Timeline({ entries, t, zone, lang }) {
  return html`<ol class="timeline">${entries.map((e) => html`<li class=${`entry kind-${e.kind}`}>
    <span class="kind">${t(`kind_${e.kind}`)}</span>
    <span class="actor">${e.actor ?? ''}</span>
    <time>${formatTime(e.at, zone, lang)}</time>
    <p class="body">${timelineText(e.body, t, e.kind)}</p>
  </li>`)}</ol>`;
}

function TicketView({ id, t, zone, lang }) {
  const { data, error, reload } = useApi(`/api/tickets/${id}`, 15_000);
  const [text, setText] = useState('');
  const [assignee, setAssignee] = useState('');
  const [actionError, setActionError] = useState(null);
  const act = async (path, body) => {
    try {
      setActionError(null);
      await api(`/api/tickets/${id}/${path}`, { method: 'POST', body });
      reload();
      return true;
    } catch (err) { setActionError(err); return false; }
  };
  if (!data) return html`<${ErrorLine} error=${error} /><p>${t('loading')}</p>`;
  const tk = data.ticket;
  return html`<section class="ticket-view">
    <a href="#/queue">${t('back')}</a>
    <h2>${t('ticket')} #${tk.id} · ${t(`ch_${tk.channel}`)} · ${t(`cat_${tk.category}`)} · ${t(`st_${tk.status}`)}</h2>
    <p>${t('customer')}: <span class="who">${tk.customer_name ?? tk.customer_id}</span> ${tk.customer_phone ?? ''} · ${t('priority')}: ${t(`pr_${tk.priority}`)} · ${t('assignee')}: ${tk.assignee ?? t('none')}</p>
    <p>${t('due')}: <${Countdown} due=${tk.due_at} t=${t} /></p>
    ${data.order && html`<p class="order">${t('order')}: <a href=${`#/orders/${encodeURIComponent(data.order.id)}`}>${data.order.id}</a> ${data.order.product ?? ''} · ${t(`st_${data.order.status}`)}</p>`}
    ${data.complaints.length > 0 && html`<p>${t('complaints')}: ${data.complaints.map((c) => html`<span class=${`complaint st-${c.status}`}>${c.feedback_id} (${t(`st_${c.status}`)}) </span>`)}</p>`}
    <div class="actions">
      <label>${t('assignee')}<input id="assignee" value=${assignee} onInput=${(e) => setAssignee(e.target.value)} /></label>
      <button id="assign" onClick=${() => act('assign', { assignee: assignee || null })}>${t('assign')}</button>
      ${(tk.status === 'open' || tk.status === 'pending') && html`<button id="resolve" onClick=${() => act('resolve')}>${t('resolve')}</button>`}
      ${tk.status !== 'closed' && html`<button id="close" onClick=${() => act('close')}>${t('close')}</button>`}
      ${(tk.status === 'resolved' || tk.status === 'closed') && html`<button id="reopen" onClick=${() => act('reopen')}>${t('reopen')}</button>`}
    </div>
    <form class="reply" onSubmit=${async (e) => { e.preventDefault(); if (await act('reply', { text })) setText(''); }}>
      <label>${t('reply')}<textarea id="reply-text" value=${text} onInput=${(e) => setText(e.target.value)}></textarea></label>
      <p class="reach">${t('replyVia')}: <strong>${t(`channel_${data.reach.channel}`)}</strong> — ${t(`reason_${data.reach.reason}`)}</p>
      <button id="send-reply" type="submit" disabled=${data.reach.channel === 'none'}>${t('send')}</button>
    </form>
    <${ErrorLine} error=${actionError ?? error} />
    <h3>${t('timeline')}</h3>
    <${Timeline} entries=${data.timeline} t=${t} zone=${zone} lang=${lang} />
  </section>`;
}

// ---- complaints -----------------------------------------------------------------------------
function Complaints({ t, zone, lang }) {
  const { data, error, reload } = useApi('/api/complaints?limit=200', 15_000);
  const now = useNow(5000);
  const [resolving, setResolving] = useState(null);
  const [message, setMessage] = useState('');
  const [actionError, setActionError] = useState(null);
  const resolve = async (e) => {
    e.preventDefault();
    try {
      await api(`/api/complaints/${encodeURIComponent(resolving)}/resolve`, { method: 'POST', body: message.trim() ? { message: message.trim() } : {} });
      setResolving(null); setMessage(''); setActionError(null); reload();
    } catch (err) { setActionError(err); }
  };
  return html`<section>
    <${ErrorLine} error=${error ?? actionError} />
    <ul class="complaints">${(data?.complaints ?? []).map((c) => {
      const waiting = c.status === 'open' || c.status === 'reopened';
      const quarter = waiting && now >= c.warning_due && now < c.deadline;
      return html`<li class=${`complaint st-${c.status}${c.status === 'reopened' ? ' escalated' : ''}`}>
        <span class="fid">${c.feedback_id}</span> <span class="status">${t(`st_${c.status}`)}</span>
        ${c.status === 'reopened' && html`<strong class="escalated-label">${t('escalated')}</strong>`}
        <span>${t('reason')}: ${c.reason ?? ''}</span>
        <span>${t('deadline')}: ${formatTime(c.deadline, zone, lang)} ${waiting && html`<${Countdown} due=${c.deadline} total=${c.deadline - c.opened_at} t=${t} />`}</span>
        ${quarter && html`<span class="warning">${t('quarterLeft')}</span>`}
        ${waiting && now >= c.deadline && html`<span class="overdue">${t('overdue')}</span>`}
        ${c.status !== 'closed' && html`<button class="resolve-complaint" data-fid=${c.feedback_id} onClick=${() => setResolving(c.feedback_id)}>${t('resolve')}</button>`}
      </li>`;
    })}</ul>
    ${resolving && html`<form class="dialog" onSubmit=${resolve}>
      <h3>${t('resolveComplaint')} ${resolving}</h3>
      <label>${t('messageOptional')}<textarea id="complaint-message" value=${message} onInput=${(e) => setMessage(e.target.value)}></textarea></label>
      <button id="confirm-resolve" type="submit">${t('resolve')}</button>
      <button type="button" onClick=${() => setResolving(null)}>${t('cancel')}</button>
    </form>`}
  </section>`;
}

// ---- orders ---------------------------------------------------------------------------------
function Orders({ t, zone, lang }) {
  const { data, error } = useApi('/api/orders?limit=200', 30_000);
  return html`<section><${ErrorLine} error=${error} />
    <ul class="orders">${(data?.orders ?? []).map((o) => html`<li>
      <a href=${`#/orders/${encodeURIComponent(o.id)}`}>${o.id}</a> ${o.product ?? ''} · ${t(`st_${o.status}`)} · ${formatTime(o.updated_at, zone, lang)}
    </li>`)}</ul></section>`;
}

function OrderView({ id, t, zone, lang }) {
  const { data, error } = useApi(`/api/orders/${encodeURIComponent(id)}`);
  if (!data) return html`<${ErrorLine} error=${error} />`;
  const o = data.order;
  return html`<section>
    <a href="#/orders">${t('back')}</a>
    <h2>${t('order')} ${o.id}</h2>
    <p>${t('product')}: ${o.product ?? ''} · ${t('amount')}: ${o.amount ?? ''} ${o.currency ?? ''} · ${t(`st_${o.status}`)} · ${t('customer')}: ${o.customer_name ?? ''}</p>
    <h3>${t('tickets')}</h3>
    <ul>${data.tickets.map((tk) => html`<li><a href=${`#/ticket/${tk.id}`}>#${tk.id}</a> ${t(`cat_${tk.category}`)} · ${t(`st_${tk.status}`)}</li>`)}</ul>
    <h3>${t('complaints')}</h3>
    <ul>${data.complaints.map((c) => html`<li>${c.feedback_id} · ${t(`st_${c.status}`)}</li>`)}</ul>
    <h3>${t('events')}</h3>
    <ul>${data.events.map((e) => html`<li><time>${formatTime(e.received_at, zone, lang)}</time> ${e.dedup_key}</li>`)}</ul>
  </section>`;
}

// ---- deliveries and dead letters ------------------------------------------------------------
function Deliveries({ t, zone, lang }) {
  const deliveries = useApi('/api/deliveries?limit=100', 15_000);
  const dead = useApi('/api/dead-letters?limit=100', 15_000);
  const [note, setNote] = useState(null);
  const replay = async (id) => {
    try { await api(`/api/dead-letters/${id}/replay`, { method: 'POST' }); setNote(t('replayed')); dead.reload(); deliveries.reload(); } catch (err) { setNote(err.message); }
  };
  return html`<section>
    <h3>${t('deadLetters')}</h3>
    ${note && html`<p class="note" role="status">${note}</p>`}
    <ul class="dead-letters">${(dead.data?.dead_letters ?? []).map((d) => html`<li class=${d.replayed_at ? 'replayed' : ''}>
      <span>#${d.id} ${d.delivery_id ?? d.source}</span> <span class="reason">${t('reason')}: ${d.reason}</span>
      <time>${formatTime(d.created_at, zone, lang)}</time>
      ${!d.replayed_at && html`<button class="replay" data-id=${d.id} onClick=${() => replay(d.id)}>${t('replay')}</button>`}
    </li>`)}</ul>
    <h3>${t('deliveries')}</h3>
    <ul class="deliveries">${(deliveries.data?.deliveries ?? []).map((d) => html`<li>
      <span>${d.id}</span> <span>${d.target}</span> <span class=${`state st-${d.state}`}>${t(`st_${d.state}`)}</span> <span class="reason">${d.last_result ?? ''}</span>
    </li>`)}</ul>
  </section>`;
}

// ---- rules ----------------------------------------------------------------------------------
const SECTIONS = ['faq', 'routes', 'zns'];

function Rules({ t }) {
  const { data, error } = useApi('/api/rules');
  const [items, setItems] = useState(null);
  const [result, setResult] = useState(null);
  useEffect(() => {
    if (!data) return;
    const next = {};
    for (const s of SECTIONS) next[s] = (data[s] ?? []).map((r) => JSON.stringify(r, null, 1));
    next.zns_fallback = data.zns_fallback ? JSON.stringify(data.zns_fallback, null, 1) : '';
    setItems(next);
  }, [data]);
  if (!items) return html`<${ErrorLine} error=${error} />`;
  const edit = (section, i) => (e) => {
    const list = [...items[section]]; list[i] = e.target.value; setItems({ ...items, [section]: list });
  };
  const save = async () => {
    const doc = {};
    try {
      for (const s of SECTIONS) doc[s] = items[s].map((text, i) => { try { return JSON.parse(text); } catch (err) { throw Object.assign(new Error(err.message), { path: `${s}[${i}]` }); } });
      if (items.zns_fallback.trim()) doc.zns_fallback = JSON.parse(items.zns_fallback);
      await api('/api/rules', { method: 'PUT', body: doc });
      setResult({ ok: true });
    } catch (err) {
      // The API's reasons start with the rule they are about: `faq[2].reply must be …`.
      const path = err.path ?? err.message.match(/^((?:faq|routes|zns)\[\d+\]|zns_fallback)/)?.[1];
      setResult({ ok: false, path, message: err.message });
    }
  };
  const errorFor = (path) => result && !result.ok && result.path === path && html`<p class="error rule-error" role="alert">${result.message}</p>`;
  return html`<section class="rules">
    <p>${t('rulesHelp')}</p>
    ${SECTIONS.map((s) => html`<fieldset><legend>${s}</legend>
      ${items[s].map((text, i) => html`<div class="rule" data-rule=${`${s}[${i}]`}>
        <textarea class="rule-json" data-rule=${`${s}[${i}]`} value=${text} onInput=${edit(s, i)}></textarea>
        <button onClick=${() => setItems({ ...items, [s]: items[s].filter((_, j) => j !== i) })}>×</button>
        ${errorFor(`${s}[${i}]`)}
      </div>`)}
      <button class="add-rule" data-section=${s} onClick=${() => setItems({ ...items, [s]: [...items[s], '{}'] })}>+</button>
    </fieldset>`)}
    <fieldset><legend>zns_fallback</legend>
      <textarea class="rule-json" data-rule="zns_fallback" value=${items.zns_fallback} onInput=${(e) => setItems({ ...items, zns_fallback: e.target.value })}></textarea>
      ${errorFor('zns_fallback')}
    </fieldset>
    <button id="save-rules" onClick=${save}>${t('save')}</button>
    ${result?.ok && html`<p class="note" role="status">${t('saved')}</p>`}
    ${result && !result.ok && !result.path && html`<p class="error" role="alert">${result.message}</p>`}
  </section>`;
}

// ---- stats ----------------------------------------------------------------------------------
function Chart({ opts, data }) {
  const [el, setEl] = useState(null);
  useEffect(() => {
    if (!el) return undefined;
    const plot = new uPlot({ width: Math.min(el.clientWidth || 600, 900), height: 220, ...opts }, data, el);
    return () => plot.destroy();
  }, [el, JSON.stringify(data)]);
  return html`<div class="chart" ref=${setEl}></div>`;
}

function Stats({ t, zone }) {
  const { data, error } = useApi('/api/stats', 60_000);
  if (!data) return html`<${ErrorLine} error=${error} />`;
  // Days of the merchant's time zone, from the hours the API counts.
  const channels = [...new Set(data.opened_by_hour.map((r) => r.channel))];
  const byDay = new Map();
  for (const r of data.opened_by_hour) {
    const day = dayOf(r.hour, zone);
    const row = byDay.get(day) ?? {};
    row[r.channel] = (row[r.channel] ?? 0) + r.opened;
    byDay.set(day, row);
  }
  const days = [...byDay.keys()].sort();
  const xs = days.map((d) => Date.parse(`${d}T12:00:00Z`) / 1000);
  const palette = ['#1677ff', '#52c41a', '#fa8c16', '#eb2f96'];
  const perDay = [xs, ...channels.map((c) => days.map((d) => byDay.get(d)[c] ?? 0))];
  const rows = data.by_channel_and_category;
  const minutes = (s) => (s === null || s === undefined ? '' : (s / 60).toFixed(1));
  const byStatus = Object.fromEntries(data.complaints_by_status.map((r) => [r.status, r.count]));
  return html`<section class="stats">
    <h3>${t('ticketsPerDay')}</h3>
    ${days.length > 0 && html`<${Chart} data=${perDay} opts=${{ series: [{}, ...channels.map((c, i) => ({ label: c, stroke: palette[i % palette.length], width: 2 }))], scales: { x: { time: true, range: (_, lo, hi) => [lo - 86400, hi + 86400] } } }} />`}
    <h3>${t('responseTimes')}</h3>
    <table><thead><tr><th>${t('channel')}</th><th>${t('category')}</th><th>${t('tickets')}</th>
      <th>${t('firstResponse')} ${t('average')}</th><th>${t('firstResponse')} ${t('p90')}</th>
      <th>${t('resolution')} ${t('average')}</th><th>${t('resolution')} ${t('p90')}</th>
      <th>${t('slaBreaches')}</th><th>${t('resolutionRate')}</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr><td>${t(`ch_${r.channel}`)}</td><td>${t(`cat_${r.category}`)}</td><td>${r.opened}</td>
        <td>${minutes(r.first_response.avg_secs)}</td><td>${minutes(r.first_response.p90_secs)}</td>
        <td>${minutes(r.resolution.avg_secs)}</td><td>${minutes(r.resolution.p90_secs)}</td>
        <td>${r.sla_breaches}</td><td>${Math.round(r.resolution_rate * 100)}%</td></tr>`)}</tbody></table>
    <h3>${t('complaintsByOutcome')}</h3>
    <ul class="outcomes">${['open', 'processed', 'closed', 'reopened'].map((s) => html`<li><span class=${`st-${s}`}>${t(`st_${s}`)}</span>: ${byStatus[s] ?? 0}</li>`)}</ul>
  </section>`;
}

// ---- the page -------------------------------------------------------------------------------
const VIEWS = ['queue', 'complaints', 'orders', 'deliveries', 'rules', 'stats'];

function route() {
  const [, view = 'queue', id] = (location.hash || '#/queue').split('/');
  return { view, id: id && decodeURIComponent(id) };
}

function App() {
  const [lang, setLang] = useState(initialLanguage());
  const [me, setMe] = useState(null);
  const [where, setWhere] = useState(route());
  const t = translator(lang);
  useEffect(() => { const f = () => setWhere(route()); addEventListener('hashchange', f); return () => removeEventListener('hashchange', f); }, []);
  useEffect(() => { document.documentElement.lang = lang; document.title = t('title'); }, [lang]);
  useEffect(() => { if (token.get()) api('/api/me').then(setMe, () => token.clear()); }, []);
  const chooseLanguage = (e) => { setLang(e.target.value); remember(e.target.value); };
  const languagePicker = html`<label class="lang">${t('language')}
    <select id="language" value=${lang} onChange=${chooseLanguage}>${LANGUAGES.map(([code, name]) => html`<option value=${code}>${name}</option>`)}</select></label>`;
  if (!me) return html`<main>${languagePicker}<${SignIn} t=${t} onSignedIn=${setMe} /></main>`;
  const zone = me.time_zone;
  const props = { t, zone, lang, id: where.id };
  const views = {
    queue: Queue, ticket: TicketView, complaints: Complaints, orders: where.id ? OrderView : Orders,
    deliveries: Deliveries, rules: Rules, stats: Stats,
  };
  const View = views[where.view] ?? Queue;
  return html`<div class="page">
    <header>
      <nav>${VIEWS.map((v) => html`<a href=${`#/${v}`} id=${`nav-${v}`} class=${where.view === v ? 'active' : ''}>${t(v)}</a>`)}</nav>
      <span class="me">${t('signedInAs')} <strong>${me.name}</strong></span>
      ${languagePicker}
      <button id="sign-out" onClick=${() => { token.clear(); setMe(null); }}>${t('signOut')}</button>
    </header>
    <main><${View} ...${props} /></main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
