// The staff dashboard: Preact views over the admin API, served by the Worker as static files.
// Everything that came from a customer or a platform is rendered as text: Preact escapes it,
// and nothing here sets HTML.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { api, may, onUnauthorized, roleOf, token } from './api.js';
import { LANGUAGES, errorText, initialLanguage, remember, translator } from './i18n.js';
import { Page, html, parseRoute } from './lib.js';
import { Queue } from './views/queue.js';
import { TicketView } from './views/ticket.js';
import { Complaints } from './views/complaints.js';
import { OrderView, Orders } from './views/orders.js';
import { Deliveries } from './views/deliveries.js';
import { Rules } from './views/rules.js';

// The charts (Chart.js) load with the Stats view only.
function Stats() {
  const [View, setView] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { import('./views/stats.js').then((m) => setView(() => m.Stats), setError); }, []);
  if (error) return html`<p class="error" role="alert">${String(error)}</p>`;
  return View ? html`<${View} />` : null;
}

const NAV = ['queue', 'complaints', 'orders', 'deliveries', 'rules', 'stats'];
// The views a role below lead does not get: deliveries and dead letters hold whole payloads.
const NEEDS = { deliveries: 'lead' };

function LanguagePicker({ lang, t, onChange }) {
  return html`<label class="lang"><span class="sr-only">${t('language')}</span>
    <select id="language" aria-label=${t('language')} value=${lang} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${LANGUAGES.map(([code, name]) => html`<option value=${code} lang=${code}>${name}</option>`)}
    </select></label>`;
}

function SignIn({ t, lang, setLang, notice, onSignedIn }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const secret = value.trim();
    if (!secret) return;
    setBusy(true); setError(null);
    try {
      const me = await api('/api/me', { bearer: secret });
      token.set(secret);
      setValue('');
      onSignedIn(me);
    } catch (err) {
      setError(err.status === 401 ? t('wrongToken') : errorText(err, t));
      setBusy(false);
    }
  };
  return html`<main class="signin-page">
    <form class="signin card" onSubmit=${submit}>
      <div class="signin-top"><h1>${t('title')} <small>${t('subtitle')}</small></h1><${LanguagePicker} lang=${lang} t=${t} onChange=${setLang} /></div>
      ${notice && html`<p class="warning" role="status">${notice}</p>`}
      <label for="token">${t('tokenLabel')}</label>
      <input id="token" type="password" autocomplete="current-password" spellcheck="false" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      <p class="muted small">${t('tokenHelp')}</p>
      <button id="sign-in" type="submit" disabled=${busy}>${busy ? t('signingIn') : t('signIn')}</button>
      ${error && html`<p class="error" role="alert" id="sign-in-error">${error}</p>`}
    </form>
  </main>`;
}

function App() {
  const [lang, setLangState] = useState(initialLanguage());
  const [me, setMe] = useState(null);
  const [checking, setChecking] = useState(Boolean(token.get()));
  const [notice, setNotice] = useState(null);
  const [where, setWhere] = useState(parseRoute());
  const t = translator(lang);
  const setLang = (l) => { setLangState(l); remember(l); };
  const signOut = (message) => { token.clear(); setMe(null); setNotice(message ?? null); };

  useEffect(() => {
    const f = () => { setWhere(parseRoute()); scrollTo(0, 0); };
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  useEffect(() => { document.documentElement.lang = lang; document.title = `${t('title')} · ${t(where.view === 'ticket' ? 'ticket' : where.view) }`; }, [lang, where.view]);
  useEffect(() => {
    if (!token.get()) return;
    api('/api/me').then((m) => { setMe(m); setChecking(false); }, () => { token.clear(); setChecking(false); });
  }, []);
  useEffect(() => { onUnauthorized(() => signOut(translator(document.documentElement.lang)('sessionEnded'))); }, []);

  if (checking) return html`<main class="signin-page"><p class="muted">${t('loading')}</p></main>`;
  if (!me) return html`<${SignIn} t=${t} lang=${lang} setLang=${setLang} notice=${notice} onSignedIn=${(m) => { setNotice(null); setMe(m); }} />`;

  const zone = me.time_zone || 'Asia/Shanghai';
  const page = { t, lang, zone, me };
  const props = { id: where.id, query: where.query };
  let view;
  switch (where.view) {
    case 'ticket': view = html`<${TicketView} key=${where.id} ...${props} />`; break;
    case 'complaints': view = html`<${Complaints} ...${props} />`; break;
    case 'orders': view = where.id ? html`<${OrderView} key=${where.id} ...${props} />` : html`<${Orders} ...${props} />`; break;
    case 'deliveries': view = html`<${Deliveries} ...${props} />`; break;
    case 'rules': view = html`<${Rules} />`; break;
    case 'stats': view = html`<${Stats} />`; break;
    default: view = html`<${Queue} ...${props} />`;
  }
  const active = where.view === 'ticket' ? 'queue' : where.view;
  return html`<${Page.Provider} value=${page}>
    <div class="page">
      <header class="top">
        <div class="topbar">
          <a class="brand" href="#/queue">${t('title')}</a>
          <span class="me" title=${t('timeZone', zone)}>${t('signedInAs', me.name)} <span class=${`badge role role-${roleOf(me)}${roleOf(me) === 'owner' ? ' owner' : ''}`}>${t(`role_${roleOf(me)}`)}</span></span>
          <${LanguagePicker} lang=${lang} t=${t} onChange=${setLang} />
          <button id="sign-out" type="button" class="secondary" onClick=${() => signOut()}>${t('signOut')}</button>
        </div>
        <nav aria-label=${t('title')}>${NAV.filter((v) => may(me, NEEDS[v] ?? 'agent')).map((v) => html`<a href=${`#/${v}`} id=${`nav-${v}`} class=${active === v ? 'active' : ''} aria-current=${active === v ? 'page' : undefined}>${t(v)}</a>`)}</nav>
      </header>
      <main class="content">${view}</main>
      <footer class="muted small">${t('signedInAs', me.name)} · ${t('timeZone', zone)}</footer>
    </div>
  <//>`;
}

render(html`<${App} />`, document.getElementById('app'));
