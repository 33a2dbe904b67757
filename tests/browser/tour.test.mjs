// A tour of every view, phone- and desktop-sized, in 中文, Tiếng Việt and English, over data
// sent the way the platforms send it (WeChat messages of several types, card-shop orders, WeChat
// Pay complaints, a refused send): screenshots for people to look at go to
// tests/browser/screenshots/ (gitignored). Each view must render without a page error, a dialog
// or a CSP violation, with the page's own words in the chosen language only.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ALL } from '../../dashboard/src/i18n.js';
import { SECRETS, VIEWPORTS, XSS, assertClean, now, shot, signIn, startDashboard, waitFor } from './support.mjs';

let env;
const seeded = {};

before(async () => {
  env = await startDashboard();
  await env.admin('/api/rules', {
    method: 'PUT',
    body: JSON.stringify({
      faq: [{ keywords: ['卡密', 'card key'], reply: '卡密在 订单 → 详情 / Your key is in Orders → Details.' }],
      routes: [{ keywords: ['退款', 'refund'], category: 'refund', kf_accounts: ['anna@gh_shop', 'bob@gh_shop'] }],
      zns: [{ on: 'order.delivery_failed', template_id: 366, params: { order_id: '{order.id}', requester: '{customer.name}' } }],
      zns_fallback: { template_id: 367, params: { message: '{text}' } },
    }),
  });
  // A WeChat customer writing text, a picture and a voice message.
  await env.customerWrites('oTourWeChat', `请问我的订单什么时候到？ ${XSS}`);
  await env.customerWrites('oTourWeChat', '', { MsgType: 'image', PicUrl: 'https://mmbiz.qpic.cn/tour.jpg', MediaId: 'm1' });
  await env.customerWrites('oTourWeChat', '', { MsgType: 'voice', MediaId: 'm2', Format: 'amr', Recognition: '我要退款' });
  seeded.wechat = await env.ticketOf('oTourWeChat');
  await env.admin(`/api/tickets/${seeded.wechat.id}/reply`, { method: 'POST', body: JSON.stringify({ text: '您好，我们正在为您查询。' }) });
  // Card-shop orders: one whose delivery failed (a customer on WeChat), one whose card was
  // invalid (a customer with a Vietnamese phone only: replies go by ZNS).
  const order = { id: 'O20261124001', trans_id: '4200001234202611240001', amount: 1990, currency: 'CNY', product: 'Steam 100元 充值卡', goods_kind: 'virtual', paid_at: now() - 3600 };
  await env.orderEvent({ type: 'order.paid', order, customer: { openid: 'oTourBuyer', phone: '0983123148', name: 'Nguyễn Hải Hà' } });
  await env.orderEvent({ type: 'order.delivery_failed', order, customer: { openid: 'oTourBuyer', phone: '0983123148', name: 'Nguyễn Hải Hà' }, message: '付款成功但没收到卡密' });
  const order2 = { id: 'O20261124002', amount: 250000, currency: 'VND', product: 'Thẻ Garena 250.000đ', goods_kind: 'virtual', paid_at: now() - 600 };
  await env.orderEvent({ type: 'card.invalid', order: order2, customer: { phone: '0912345678', name: 'Trần Văn Minh' }, message: 'Mã thẻ báo đã được sử dụng' });
  const orderTicket = (id) => waitFor(async () => (await env.admin('/api/tickets?channel=orders')).tickets.find((t) => t.order_id === id), `order ${id}'s ticket`);
  seeded.order = await orderTicket('O20261124001');
  seeded.zns = await orderTicket('O20261124002');
  // Complaints: one waiting (on the first order), one the customer rejected.
  await env.complaint('fbTourWaiting', 'oTourBuyer', 'request', { transId: order.trans_id, reason: '付款后未收到商品', solution: '退款' });
  await env.complaint('fbTourRejected', 'oTourAngry', 'request', { timestamp: now() - 30, reason: 'card invalid', solution: 'refund' });
  await waitFor(async () => (await env.admin('/api/complaints')).complaints.length === 2, 'the complaints');
  await env.complaint('fbTourRejected', 'oTourAngry', 'reject', { timestamp: now() - 5 });
  // A send WeChat refuses for good: a dead letter.
  await env.customerWrites('oDeadTour', 'hello');
  const dead = await env.ticketOf('oDeadTour');
  await env.admin(`/api/tickets/${dead.id}/reply`, { method: 'POST', body: JSON.stringify({ text: 'to a refused OpenID' }) });
  await waitFor(async () => (await env.admin('/api/dead-letters')).dead_letters.length > 0, 'the dead letter');
  await waitFor(async () => (await env.admin('/api/complaints?status=reopened')).complaints.length === 1, 'the rejection');
});
after(async () => { await env?.stop(); });

const VIEWS = () => [
  ['queue', '#/queue'],
  ['ticket', `#/ticket/${seeded.wechat.id}`],
  ['ticket-order', `#/ticket/${seeded.order.id}`],
  ['ticket-zns', `#/ticket/${seeded.zns.id}`],
  ['complaints', '#/complaints'],
  ['orders', '#/orders'],
  ['order', '#/orders/O20261124001'],
  ['deliveries', '#/deliveries'],
  ['rules', '#/rules'],
  ['stats', '#/stats'],
];

// Words of the page that would betray a screen left in English.
const ENGLISH_ONLY = ['Sign out', 'Queue', 'Complaints', 'Deliveries', 'Reply to the customer', 'Legal deadline', 'Dead letters', 'Tickets opened per day', 'first response', 'left'];

for (const [size, viewport] of Object.entries(VIEWPORTS)) {
  test(`every view in 中文, Tiếng Việt and English, ${size}-sized`, async () => {
    const page = await env.newPage(viewport, { locale: 'zh-CN' });
    // The owner sees every view (deliveries need a lead, saving rules the owner).
    await signIn(page, env.worker.url, SECRETS.ADMIN_TOKEN);
    await page.waitForSelector('#nav-queue:has-text("工单队列")');
    for (const lang of ['zh-CN', 'vi', 'en']) {
      await page.selectOption('#language', lang);
      await page.waitForSelector(`#nav-queue:has-text("${ALL[lang].queue}")`);
      for (const [name, hash] of VIEWS()) {
        await page.goto(`${env.worker.url}/${hash}`);
        await page.waitForSelector('.content > section');
        await page.waitForFunction(() => !document.querySelector('.content .muted')?.textContent.match(/^(Loading…|加载中…|Đang tải…)$/));
        if (name === 'stats') await page.waitForSelector('.chart canvas');
        if (name.startsWith('ticket')) await page.waitForSelector('.timeline .entry');
        await page.waitForTimeout(300);
        await shot(page, `${size}-${lang}-${name}`);
        if (lang !== 'en') {
          const text = await page.locator('body').innerText();
          for (const word of ENGLISH_ONLY) assert.ok(!new RegExp(`\\b${word}\\b`).test(text), `${lang} ${name}: "${word}" is English`);
        }
      }
    }
    // Customer markup is text on every screen that shows it.
    await page.goto(`${env.worker.url}/#/ticket/${seeded.wechat.id}`);
    await page.waitForSelector('.timeline .entry.kind-inbound');
    assert.ok((await page.textContent('.timeline')).includes(XSS));
    assert.equal(await page.locator('img').count(), 0);
    assertClean(page);
    await page.context().close();
  });
}

test('the order ticket shows its order and complaint; the phone-only customer is answered by ZNS', async () => {
  const page = await env.newPage(VIEWPORTS.desktop);
  await signIn(page, env.worker.url);
  await page.waitForSelector('#nav-queue');
  await page.goto(`${env.worker.url}/#/ticket/${seeded.order.id}`);
  await page.waitForSelector('.order-card');
  assert.match(await page.textContent('.order-card'), /O20261124001[\s\S]*Steam 100元 充值卡[\s\S]*¥19\.90/);
  await page.waitForSelector('.complaint-line:has-text("fbTourWaiting")');
  assert.match(await page.textContent('.timeline'), /Delivery failed/);
  await page.goto(`${env.worker.url}/#/ticket/${seeded.zns.id}`);
  await page.waitForSelector('#reach');
  assert.match(await page.textContent('#reach'), /Goes by Zalo ZNS: the customer has no WeChat OpenID/);
  // The reply goes as the zns_fallback template to the customer's phone, once.
  const text = `Chúng tôi đã gửi lại mã thẻ ${Date.now()}`;
  await page.fill('#reply-text', text);
  await page.click('#send-reply');
  await page.waitForSelector('.note:has-text("Reply queued for Zalo ZNS")');
  const sends = () => env.caresoft.calls('/demo/api/v1/zalo/zns').filter((c) => c.json?.zns?.params?.message === text);
  await waitFor(() => sends().length === 1, 'the ZNS reply');
  assert.equal(sends()[0].json.zns.phone, '0912345678');
  assert.equal(sends()[0].json.zns.template_id, 367);
  await page.waitForSelector(`.timeline .entry.kind-agent:has-text("Reply via Zalo ZNS: ${text}")`);
  await page.goto(`${env.worker.url}/#/orders/O20261124002`);
  await page.waitForSelector('.order-view');
  assert.match(await page.textContent('.order-view'), /₫250,000/);
  assertClean(page);
  await page.context().close();
});
