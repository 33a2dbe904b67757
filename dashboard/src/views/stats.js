// Stats with charts (Chart.js): tickets opened per day and channel, first-response and
// resolution times (average and p90), SLA breaches, resolution rate, complaints by outcome; and
// the same numbers in a table.
import { useEffect, useRef } from 'preact/hooks';
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Legend, LinearScale, Tooltip,
} from 'chart.js';
import { ErrorLine, Loading, dayOf, html, nowSecs, useApi, usePage } from '../lib.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, DoughnutController, ArcElement);
Chart.defaults.font.family = 'system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif';
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

const CHANNEL_COLORS = { oa: '#07a35a', shop: '#fa8c16', payfeedback: '#cf1322', orders: '#1677ff', zalo: '#0068ff' };
const SERIES_COLORS = ['#69b1ff', '#1677ff', '#95de64', '#389e0d'];
const OUTCOME_COLORS = { open: '#faad14', processed: '#1677ff', closed: '#52c41a', reopened: '#cf1322' };
const OUTCOMES = ['open', 'processed', 'closed', 'reopened'];

function ChartBox({ config, label, tall }) {
  const canvas = useRef(null);
  const key = JSON.stringify({ data: config.data, type: config.type, label });
  useEffect(() => {
    const chart = new Chart(canvas.current, config);
    return () => chart.destroy();
  }, [key]);
  return html`<div class=${`chart${tall ? ' tall' : ''}`}><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>`;
}

// The last `n` days of the merchant's time zone, oldest first.
function lastDays(n, zone) {
  const days = new Set();
  for (let k = 0; days.size < n && k < n * 3; k++) days.add(dayOf(nowSecs() - k * 43_200, zone));
  return [...days].sort().slice(-n);
}

const minutes = (s) => (s === null || s === undefined ? null : Math.round(s / 6) / 10);

export function Stats() {
  const page = usePage();
  const { t, lang, zone } = page;
  const { data, error } = useApi('/api/stats', 60_000);
  if (!data) return html`<section><${ErrorLine} error=${error} />${!error && html`<${Loading} />`}</section>`;
  const period = data.period_days ?? 30;
  const num = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const pct = new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 0 });

  // Tickets opened per day (of the merchant's time zone) and channel, from the hours counted.
  const days = lastDays(period, zone);
  const perDay = new Map(days.map((d) => [d, {}]));
  const channels = [];
  for (const r of data.opened_by_hour ?? []) {
    const row = perDay.get(dayOf(r.hour, zone));
    if (!row) continue;
    row[r.channel] = (row[r.channel] ?? 0) + r.opened;
    if (!channels.includes(r.channel)) channels.push(r.channel);
  }
  const dayLabel = new Intl.DateTimeFormat(lang, { month: 'numeric', day: 'numeric', timeZone: 'UTC' });
  const dayLabels = days.map((d) => dayLabel.format(new Date(`${d}T12:00:00Z`)));
  const opened = {
    type: 'bar',
    data: { labels: dayLabels, datasets: channels.map((c) => ({ label: t.maybe('ch_', c), data: days.map((d) => perDay.get(d)[c] ?? 0), backgroundColor: CHANNEL_COLORS[c] ?? '#8c8c8c' })) },
    options: { locale: lang, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { position: 'bottom' } } },
  };

  const rows = data.by_channel_and_category ?? [];
  // Two lines each (channel, category), so that they fit beside a bar on a phone.
  const rowLabels = rows.map((r) => [t.maybe('ch_', r.channel), t.maybe('cat_', r.category)]);
  const times = {
    type: 'bar',
    data: {
      labels: rowLabels,
      datasets: [
        [t('frAvg'), rows.map((r) => minutes(r.first_response.avg_secs))],
        [t('frP90'), rows.map((r) => minutes(r.first_response.p90_secs))],
        [t('resAvg'), rows.map((r) => minutes(r.resolution.avg_secs))],
        [t('resP90'), rows.map((r) => minutes(r.resolution.p90_secs))],
      ].map(([label, values], i) => ({ label, data: values, backgroundColor: SERIES_COLORS[i] })),
    },
    options: { locale: lang, indexAxis: rows.length > 3 ? 'y' : 'x', scales: { x: { beginAtZero: true }, y: { beginAtZero: true } }, plugins: { legend: { position: 'bottom' } } },
  };
  const breaches = {
    type: 'bar',
    data: { labels: rowLabels, datasets: [{ label: t('slaBreaches'), data: rows.map((r) => r.sla_breaches), backgroundColor: '#ff7875' }] },
    options: { locale: lang, indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } },
  };
  const rates = {
    type: 'bar',
    data: { labels: rowLabels, datasets: [{ label: t('resolutionRate'), data: rows.map((r) => Math.round(r.resolution_rate * 100)), backgroundColor: '#52c41a' }] },
    options: { locale: lang, indexAxis: 'y', scales: { x: { beginAtZero: true, max: 100, ticks: { callback: (v) => `${v}%` } } }, plugins: { legend: { display: false } } },
  };
  const byStatus = Object.fromEntries((data.complaints_by_status ?? []).map((r) => [r.status, r.count]));
  const complaintsTotal = OUTCOMES.reduce((n, s) => n + (byStatus[s] ?? 0), 0);
  const outcomes = {
    type: 'doughnut',
    data: { labels: OUTCOMES.map((s) => t(`cs_${s}`)), datasets: [{ data: OUTCOMES.map((s) => byStatus[s] ?? 0), backgroundColor: OUTCOMES.map((s) => OUTCOME_COLORS[s]) }] },
    options: { locale: lang, plugins: { legend: { position: 'bottom' } } },
  };

  const ticketsNow = Object.fromEntries((data.tickets_by_status ?? []).map((r) => [r.status, r.count]));
  const openedTotal = rows.reduce((n, r) => n + r.opened, 0);
  const doneTotal = rows.reduce((n, r) => n + r.resolution_rate * r.opened, 0);
  const breachTotal = rows.reduce((n, r) => n + r.sla_breaches, 0);
  return html`<section class="stats">
    <p class="muted">${t('statsHelp', period, zone)}</p>
    <div class="tiles">
      ${['open', 'pending', 'resolved', 'closed'].map((s) => html`<div class="tile"><span class="n">${num.format(ticketsNow[s] ?? 0)}</span><span>${t(`ts_${s}`)}</span></div>`)}
      <div class="tile"><span class="n">${num.format(openedTotal)}</span><span>${t('opened')}</span></div>
      <div class="tile"><span class="n">${openedTotal ? pct.format(doneTotal / openedTotal) : '—'}</span><span>${t('resolutionRate')}</span></div>
      <div class=${`tile${breachTotal ? ' bad' : ''}`}><span class="n">${num.format(breachTotal)}</span><span>${t('slaBreaches')}</span></div>
    </div>
    <div class="charts">
      <div class="card wide"><h3>${t('ticketsPerDay')}</h3>${channels.length ? html`<${ChartBox} config=${opened} label=${t('ticketsPerDay')} />` : html`<p class="empty">${t('noData')}</p>`}</div>
      <div class="card wide"><h3>${t('responseTimes')}</h3>${rows.length ? html`<${ChartBox} config=${times} label=${t('responseTimes')} tall=${rows.length > 3} />` : html`<p class="empty">${t('noData')}</p>`}</div>
      <div class="card"><h3>${t('slaBreaches')}</h3>${rows.length ? html`<${ChartBox} config=${breaches} label=${t('slaBreaches')} />` : html`<p class="empty">${t('noData')}</p>`}</div>
      <div class="card"><h3>${t('resolutionRate')}</h3>${rows.length ? html`<${ChartBox} config=${rates} label=${t('resolutionRate')} />` : html`<p class="empty">${t('noData')}</p>`}</div>
      <div class="card"><h3>${t('complaintsByOutcome')}</h3>${complaintsTotal ? html`<${ChartBox} config=${outcomes} label=${t('complaintsByOutcome')} />` : html`<p class="empty">${t('noData')}</p>`}</div>
    </div>
    <div class="card">
      <h3>${t('byChannelCategory')}</h3>
      <div class="table-scroll"><table>
        <thead><tr><th>${t('channel')}</th><th>${t('category')}</th><th>${t('opened')}</th>
          <th>${t('frAvg')}</th><th>${t('frP90')}</th><th>${t('resAvg')}</th><th>${t('resP90')}</th>
          <th>${t('slaBreaches')}</th><th>${t('resolutionRate')}</th></tr></thead>
        <tbody>${rows.map((r) => html`<tr><td>${t.maybe('ch_', r.channel)}</td><td>${t.maybe('cat_', r.category)}</td><td>${num.format(r.opened)}</td>
          ${[r.first_response.avg_secs, r.first_response.p90_secs, r.resolution.avg_secs, r.resolution.p90_secs].map((s) => html`<td>${s === null || s === undefined ? '—' : `${num.format(minutes(s))} ${t('minutes')}`}</td>`)}
          <td>${num.format(r.sla_breaches)}</td><td>${pct.format(r.resolution_rate)}</td></tr>`)}</tbody>
      </table></div>
    </div>
  </section>`;
}
