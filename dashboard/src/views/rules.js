// The rules editor: FAQ auto-replies, routes, ZNS rules and the ZNS fallback, as forms or as the
// whole JSON document. The API validates on save; its error names the rule (`faq[2].reply …`),
// and is shown beside that rule with the field marked. A save names the version it edited
// (If-Match): if someone saved meanwhile, the page says so instead of overwriting. Only the
// owner saves.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { may, request } from '../api.js';
import { ruleError } from '../i18n.js';
import { ErrorLine, Loading, Note, html, usePage } from '../lib.js';
import { FILTERS } from './queue.js';

const CATEGORIES = FILTERS.category.values.filter((c) => c !== 'complaint');
const TRIGGERS = ['order.paid', 'order.delivered', 'order.delivery_failed', 'order.delayed', 'card.invalid',
  'refund.requested', 'refund.succeeded', 'ticket.submitted', 'ticket.resolved'];
const SECTIONS = ['faq', 'routes', 'zns'];

const lines = (list) => (list ?? []).join('\n');
const unlines = (text) => text.split('\n').map((s) => s.trim()).filter(Boolean);
const pairs = (params) => Object.entries(params ?? {});
const object = (list) => Object.fromEntries(list.filter(([k]) => k.trim()).map(([k, v]) => [k.trim(), v]));
const templateId = (v) => { const n = Number(String(v).trim()); return Number.isInteger(n) && n > 0 ? n : 0; };

// The document as the forms edit it, and back.
function toForm(doc) {
  return {
    faq: (doc.faq ?? []).map((r) => ({ keywords: lines(r.keywords), category: r.category ?? '', reply: r.reply ?? '' })),
    routes: (doc.routes ?? []).map((r) => ({ keywords: lines(r.keywords), category: r.category ?? '', kf_accounts: lines(r.kf_accounts) })),
    zns: (doc.zns ?? []).map((r) => ({ on: r.on ?? '', template_id: r.template_id ?? '', params: pairs(r.params) })),
    zns_fallback: doc.zns_fallback
      ? { enabled: true, template_id: doc.zns_fallback.template_id ?? '', params: pairs(doc.zns_fallback.params) }
      : { enabled: false, template_id: '', params: [['message', '{text}']] },
  };
}
function toDoc(form) {
  const doc = {
    faq: form.faq.map((r) => ({ keywords: unlines(r.keywords), ...(r.category ? { category: r.category } : {}), reply: r.reply })),
    routes: form.routes.map((r) => ({ keywords: unlines(r.keywords), ...(r.category ? { category: r.category } : {}), kf_accounts: unlines(r.kf_accounts) })),
    zns: form.zns.map((r) => ({ on: r.on, template_id: templateId(r.template_id), ...(r.params.length ? { params: object(r.params) } : {}) })),
  };
  if (form.zns_fallback.enabled) {
    const f = form.zns_fallback;
    doc.zns_fallback = { template_id: templateId(f.template_id), ...(f.params.length ? { params: object(f.params) } : {}) };
  }
  return doc;
}
const EMPTY = {
  faq: () => ({ keywords: '', category: '', reply: '' }),
  routes: () => ({ keywords: '', category: '', kf_accounts: '' }),
  zns: () => ({ on: 'order.delivery_failed', template_id: '', params: [] }),
};

function Params({ params, onChange }) {
  const { t } = usePage();
  const set = (i, j) => (e) => onChange(params.map((p, k) => (k === i ? (j === 0 ? [e.currentTarget.value, p[1]] : [p[0], e.currentTarget.value]) : p)));
  return html`<fieldset class="params" name="params"><legend>${t('params')}</legend>
    ${params.map(([k, v], i) => html`<div class="param">
      <input aria-label=${t('paramName')} placeholder=${t('paramName')} value=${k} onInput=${set(i, 0)} />
      <input aria-label=${t('paramValue')} placeholder=${t('paramValue')} value=${v} onInput=${set(i, 1)} />
      <button type="button" class="secondary icon" aria-label=${t('removeRule')} onClick=${() => onChange(params.filter((_, k2) => k2 !== i))}>×</button>
    </div>`)}
    <button type="button" class="secondary small" onClick=${() => onChange([...params, ['', '']])}>+ ${t('addParam')}</button>
  </fieldset>`;
}

function CategorySelect({ value, onChange, invalid }) {
  const { t } = usePage();
  return html`<label class=${invalid ? 'invalid' : ''}>${t('category')}<select name="category" value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
    <option value="">${t('noCategory')}</option>
    ${CATEGORIES.map((c) => html`<option value=${c}>${t(`cat_${c}`)}</option>`)}
  </select></label>`;
}

function Rule({ section, index, rule, error, onChange, onRemove }) {
  const { t } = usePage();
  const path = `${section}[${index}]`;
  const bad = (field) => error && (error.field === field || (field === 'params' && error.field === 'params'));
  const field = (name) => (e) => onChange({ ...rule, [name]: e.currentTarget.value });
  let body;
  if (section === 'faq') {
    body = html`
      <label class=${bad('keywords') ? 'invalid' : ''}>${t('keywords')}<textarea name="keywords" rows="2" value=${rule.keywords} onInput=${field('keywords')}></textarea></label>
      <${CategorySelect} value=${rule.category} invalid=${bad('category')} onChange=${(v) => onChange({ ...rule, category: v })} />
      <label class=${`wide ${bad('reply') ? 'invalid' : ''}`}>${t('replyText')}<textarea name="reply" rows="2" value=${rule.reply} onInput=${field('reply')}></textarea></label>`;
  } else if (section === 'routes') {
    body = html`
      <label class=${bad('keywords') ? 'invalid' : ''}>${t('keywords')}<textarea name="keywords" rows="2" value=${rule.keywords} onInput=${field('keywords')}></textarea></label>
      <${CategorySelect} value=${rule.category} invalid=${bad('category')} onChange=${(v) => onChange({ ...rule, category: v })} />
      <label class=${`wide ${bad('kf_accounts') ? 'invalid' : ''}`}>${t('kfAccounts')}<textarea name="kf_accounts" rows="2" value=${rule.kf_accounts} onInput=${field('kf_accounts')}></textarea></label>`;
  } else {
    body = html`
      <label class=${bad('on') ? 'invalid' : ''}>${t('on')}<select name="on" value=${rule.on} onChange=${field('on')}>
        ${!TRIGGERS.includes(rule.on) && html`<option value=${rule.on}>${rule.on}</option>`}
        ${TRIGGERS.map((v) => html`<option value=${v}>${t.maybe('ev_', v)} (${v})</option>`)}
      </select></label>
      <label class=${bad('template_id') ? 'invalid' : ''}>${t('templateId')}<input name="template_id" inputmode="numeric" value=${rule.template_id} onInput=${field('template_id')} /></label>
      <div class=${`wide ${bad('params') ? 'invalid' : ''}`}><${Params} params=${rule.params} onChange=${(p) => onChange({ ...rule, params: p })} /></div>`;
  }
  return html`<div class=${`rule card${error ? ' has-error' : ''}`} data-rule=${path}>
    <div class="rule-head"><strong>${t('ruleNumber', index + 1)}</strong> <code class="muted">${path}</code>
      <button type="button" class="secondary small remove-rule" onClick=${onRemove}>${t('removeRule')}</button></div>
    <div class="rule-fields">${body}</div>
    ${error && html`<p class="error rule-error" role="alert">${error.text}</p>`}
  </div>`;
}

export function Rules() {
  const { t, me } = usePage();
  const [data, setData] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const version = useRef(null);
  const load = useCallback(() => request('/api/rules').then(({ json, etag }) => {
    version.current = etag; setData(json); setLoadError(null);
  }, setLoadError), []);
  useEffect(() => { load(); }, [load]);
  const owner = may(me, 'owner');
  const [form, setForm] = useState(null);
  const [mode, setMode] = useState('forms');
  const [json, setJson] = useState('');
  const [result, setResult] = useState(null); // { ok } | { error: {rule, field, text} } | { apiError }
  const [busy, setBusy] = useState(false);
  const root = useRef(null);
  useEffect(() => { if (data) { setForm(toForm(data)); setJson(JSON.stringify(data, null, 2)); } }, [data]);
  useEffect(() => {
    const rule = result?.error?.rule;
    if (rule) root.current?.querySelector(`[data-rule="${rule}"]`)?.scrollIntoView({ block: 'center' });
  }, [result]);
  if (!form) return html`<section><${ErrorLine} error=${loadError} />${!loadError && html`<${Loading} />`}</section>`;

  const switchMode = () => {
    if (mode === 'forms') { setJson(JSON.stringify(toDoc(form), null, 2)); setMode('json'); setResult(null); return; }
    try { setForm(toForm(JSON.parse(json))); setMode('forms'); setResult(null); } catch (e) { setResult({ error: { rule: null, text: t('jsonInvalid', e.message) } }); }
  };
  const save = async () => {
    let doc;
    if (mode === 'json') {
      try { doc = JSON.parse(json); } catch (e) { setResult({ error: { rule: null, text: t('jsonInvalid', e.message) } }); return; }
    } else doc = toDoc(form);
    setBusy(true); setResult(null);
    try {
      const saved = await request('/api/rules', {
        method: 'PUT', body: doc, headers: version.current ? { 'if-match': version.current } : {},
      });
      version.current = saved.etag;
      setForm(toForm(saved.json));
      if (mode === 'json') setJson(JSON.stringify(saved.json, null, 2));
      setResult({ ok: true });
    } catch (err) {
      if (err.status === 400) setResult({ error: ruleError(err.reason ?? '', t) });
      else if (err.status === 409) setResult({ conflict: true });
      else setResult({ apiError: err });
    }
    setBusy(false);
  };
  const errorFor = (path) => (mode === 'forms' && result?.error?.rule === path ? result.error : null);
  const setRule = (section, i) => (rule) => setForm({ ...form, [section]: form[section].map((r, j) => (j === i ? rule : r)) });
  const fb = form.zns_fallback;
  const fbError = errorFor('zns_fallback');
  return html`<section class="rules" ref=${root}>
    <div class="rules-top">
      <p class="muted">${t('rulesHelp')}</p>
      <button type="button" id="rules-mode" class="secondary" onClick=${switchMode}>${mode === 'forms' ? t('editJson') : t('editForms')}</button>
    </div>
    ${mode === 'json' ? html`<label>${t('rulesDoc')}<textarea id="rules-json" class="code" rows="18" spellcheck="false" value=${json} onInput=${(e) => setJson(e.currentTarget.value)}></textarea></label>`
    : html`${SECTIONS.map((s) => html`<fieldset class="section" data-section=${s}>
        <legend>${t(`sec_${s}`)}</legend>
        <p class="muted small">${t(`help_${s}`)}</p>
        ${form[s].map((rule, i) => html`<${Rule} key=${`${s}${i}`} section=${s} index=${i} rule=${rule} error=${errorFor(`${s}[${i}]`)}
          onChange=${setRule(s, i)} onRemove=${() => setForm({ ...form, [s]: form[s].filter((_, j) => j !== i) })} />`)}
        <button type="button" class="secondary add-rule" data-section=${s} onClick=${() => setForm({ ...form, [s]: [...form[s], EMPTY[s]()] })}>+ ${t('addRule')}</button>
      </fieldset>`)}
      <fieldset class="section" data-section="zns_fallback">
        <legend>${t('sec_zns_fallback')}</legend>
        <p class="muted small">${t('help_zns_fallback')}</p>
        <label class="check"><input type="checkbox" id="use-fallback" checked=${fb.enabled} onChange=${(e) => setForm({ ...form, zns_fallback: { ...fb, enabled: e.currentTarget.checked } })} /> ${t('useFallback')}</label>
        ${fb.enabled && html`<div class=${`rule card${fbError ? ' has-error' : ''}`} data-rule="zns_fallback"><div class="rule-fields">
          <label class=${fbError?.field === 'template_id' ? 'invalid' : ''}>${t('templateId')}<input name="template_id" inputmode="numeric" value=${fb.template_id} onInput=${(e) => setForm({ ...form, zns_fallback: { ...fb, template_id: e.currentTarget.value } })} /></label>
          <div class=${`wide ${fbError?.field === 'params' ? 'invalid' : ''}`}><${Params} params=${fb.params} onChange=${(p) => setForm({ ...form, zns_fallback: { ...fb, params: p } })} /></div>
        </div>${fbError && html`<p class="error rule-error" role="alert">${fbError.text}</p>`}</div>`}
      </fieldset>`}
    <div class="save-bar">
      ${!owner && html`<p class="muted" id="rules-read-only">${t('rulesReadOnly')}</p>`}
      <button id="save-rules" type="button" disabled=${busy || !owner} onClick=${save}>${t('save')}</button>
      ${result?.conflict && html`<div class="error" role="alert" id="rules-conflict"><span>${t('rulesConflict')}</span>
        <button type="button" class="secondary" id="reload-rules" onClick=${() => { setResult(null); load(); }}>${t('reloadRules')}</button></div>`}
      ${result?.ok && html`<${Note} text=${t('saved')} />`}
      ${result?.error && (mode === 'json' || !result.error.rule) && html`<p class="error" role="alert" id="rules-error">${result.error.text}</p>`}
      <${ErrorLine} error=${result?.apiError} />
    </div>
  </section>`;
}
