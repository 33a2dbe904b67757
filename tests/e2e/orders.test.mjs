// The card-shop webhook end to end: an independent sender signs events with its own HMAC code;
// tickets, routing, alerts, auto-replies, refunds, the undelivered-order watch and complaint
// deadlines are checked at the admin API and at mock WeChat and WeCom APIs on 127.0.0.1.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SECRETS, sleep, startMock, startWorker, waitFor } from './harness.mjs';
import { cdata, now } from './wechat-client.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = SECRETS.ORDER_WEBHOOK_SECRET;
const HOUR = 3600;
let worker; let wechat; let robot;
let serial = 0;

before(async () => {
  wechat = await startMock('wechat', (req) => (req.path === '/cgi-bin/stable_token'
    ? { json: { access_token: 'T1', expires_in: 7200 } }
    : { json: { errcode: 0, errmsg: 'ok' } }));
  robot = await startMock('robot');
  worker = await startWorker({ WECHAT_API_BASE: wechat.url, WECOM_API_BASE: robot.url, CALLBACK_MAX_SKEW_SECS: 3 * 24 * HOUR });
  const rules = {
    faq: [{ category: 'not_delivered', reply: '卡密会在 5 分钟内补发 keys are re-sent within 5 minutes' }],
    routes: [
      { category: 'not_delivered', kf_accounts: ['anna@gh_shop'] },
      { category: 'refund', kf_accounts: ['bob@gh_shop'] },
      { keywords: ['卡密'], kf_accounts: ['carol@gh_shop'] },
    ],
  };
  assert.equal((await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify(rules) })).status, 200);
});
after(async () => { await worker?.stop(); await wechat?.close(); await robot?.close(); });

// The sender's signature, computed here independently of the Worker.
function sign(body, timestamp = now(), secret = SECRET) {
  return { 'x-kefu-timestamp': String(timestamp), 'x-kefu-signature': `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}` };
}
const send = (body, headers = sign(body)) => fetch(`${worker.url}/hooks/orders`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

function orderEvent(type, { order = {}, customer = {}, ...rest } = {}) {
  serial += 1;
  const id = rest.id ?? `evt_${Date.now()}_${serial}`;
  return {
    id, type, created_at: now(),
    order: { id: `O${Date.now()}${serial}`, trans_id: `4200${Date.now()}${serial}`, amount: 1990, currency: 'CNY', product: 'Steam 100元 充值卡', goods_kind: 'virtual', paid_at: now() - 60, ...order },
    customer: { openid: `oBuyer${serial}`, phone: '0983123148', name: 'Nguyễn Hải Hà', ...customer },
    ...rest,
  };
}
const api = async (p) => (await worker.admin(p)).json();
const orderDetail = async (id) => api(`/api/orders/${encodeURIComponent(id)}`);
const stored = (e) => worker.storedWith(`orders:${e.id}`);
const customSends = (openid) => wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === openid);
const robotLines = (marker) => robot.requests.flatMap((r) => (r.json?.markdown?.content ?? '').split('\n')).filter((l) => l.includes(marker));

describe('accepted events', () => {
  test('are answered 200 with their id, after the enqueue', async () => {
    const e = orderEvent('order.paid');
    const r = await send(JSON.stringify(e));
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true, id: e.id });
    await stored(e);
    const { order } = await orderDetail(e.order.id);
    assert.equal(order.status, 'paid');
    assert.equal(order.customer_name, 'Nguyễn Hải Hà');
  });

  test('each type acts on the order and its ticket', async () => {
    const cases = [
      ['order.delivery_failed', {}, 'not_delivered', 'high', 'anna@gh_shop'],
      ['card.invalid', { message: '卡密无效' }, 'invalid_card', 'high', 'carol@gh_shop'],
      ['order.delayed', {}, 'delayed', 'normal', null],
      ['refund.requested', {}, 'refund', 'normal', 'bob@gh_shop'],
      ['ticket.submitted', { category: 'invalid_card' }, 'invalid_card', 'normal', null],
      ['ticket.submitted', {}, 'general', 'normal', null],
    ];
    for (const [type, extra, category, priority, assignee] of cases) {
      const e = orderEvent(type, extra);
      assert.equal((await send(JSON.stringify(e))).status, 200, type);
      await stored(e);
      const { order, tickets, events } = await orderDetail(e.order.id);
      assert.equal(tickets.length, 1, type);
      assert.equal(tickets[0].channel, 'orders');
      assert.equal(tickets[0].category, category, type);
      assert.equal(tickets[0].priority, priority, type);
      assert.equal(tickets[0].assignee, assignee, type);
      assert.equal(tickets[0].customer_phone, '0983123148');
      assert.equal(events.length, 1);
      // The order's events say what happened, not the whole payload (phone, e-mail, OpenID).
      assert.equal(events[0].type, type);
      assert.equal(events[0].payload, undefined);
      assert.ok(order);
    }
    const delivered = orderEvent('order.delivered', { order: { delivered_at: now() } });
    await send(JSON.stringify(delivered));
    await stored(delivered);
    assert.equal((await orderDetail(delivered.order.id)).order.status, 'delivered');
    const unknown = orderEvent('order.teleported');
    assert.equal((await send(JSON.stringify(unknown))).status, 200, 'an unknown type is accepted');
    await stored(unknown);
    assert.equal((await worker.admin(`/api/orders/${encodeURIComponent(unknown.order.id)}`)).status, 404, 'no order row');
  });

  test('a retry storm of one event gives one ticket, timeline entry, alert and auto-reply', async () => {
    const e = orderEvent('order.delivery_failed', { message: '付款成功但没收到卡密 storm' });
    const body = JSON.stringify(e);
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(body)));
    assert.deepEqual(answers.map((r) => r.status), Array(10).fill(200));
    await stored(e);
    await waitFor(() => customSends(e.customer.openid).length === 1, 'the auto-reply');
    await waitFor(() => robotLines(`order ${e.order.id}`).length === 1, 'the alert');
    await sleep(3000);
    const { tickets, events } = await orderDetail(e.order.id);
    assert.equal(tickets.length, 1);
    assert.equal(events.length, 1);
    const { timeline } = await api(`/api/tickets/${tickets[0].id}`);
    assert.equal(timeline.filter((t) => t.kind === 'inbound').length, 1);
    assert.equal(customSends(e.customer.openid).length, 1, 'one auto-reply');
    assert.equal(customSends(e.customer.openid)[0].json.text.content, '卡密会在 5 分钟内补发 keys are re-sent within 5 minutes');
    assert.equal(robotLines(`order ${e.order.id}`).length, 1, 'one alert');
    assert.match(robotLines(`order ${e.order.id}`)[0], /19\.90 CNY · Nguyễn Hải Hà 098\*\*\*148/);
    // The auto-reply's fate is on the ticket's timeline.
    await waitFor(async () => (await api(`/api/tickets/${tickets[0].id}`)).timeline.some((t) => t.kind === 'outbound'), 'the auto-reply on the timeline');
  });

  test('a refund request then its success resolves the ticket and tells the customer once', async () => {
    const requested = orderEvent('refund.requested', { message: '我要退款' });
    await send(JSON.stringify(requested));
    await stored(requested);
    const succeeded = orderEvent('refund.succeeded', { order: { id: requested.order.id }, customer: { openid: requested.customer.openid } });
    await send(JSON.stringify(succeeded));
    await send(JSON.stringify(succeeded));
    await stored(succeeded);
    await waitFor(() => customSends(requested.customer.openid).length === 1, 'the refund notice');
    const { order, tickets } = await orderDetail(requested.order.id);
    assert.equal(order.status, 'refunded');
    assert.equal(tickets[0].status, 'resolved');
    await sleep(2000);
    assert.equal(customSends(requested.customer.openid).length, 1);
    assert.match(customSends(requested.customer.openid)[0].json.text.content, /已退款成功/);
  });
});

describe('the undelivered-order watch', () => {
  test('alerts once for an order paid 25 h ago and never delivered', async () => {
    const e = orderEvent('order.paid', { order: { paid_at: now() - 25 * HOUR, product: '会员月卡' } });
    await send(JSON.stringify(e));
    await stored(e);
    const marker = `order ${e.order.id} `;
    assert.equal((await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`)).status, 200);
    await waitFor(() => robotLines(marker).length === 1, 'the undelivered-order alert');
    assert.match(robotLines(marker)[0], /NOT DELIVERED: order \S+ \(会员月卡, paid 25 h ago; customer Nguyễn Hải Hà 098\*\*\*148\)/);
    await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`);
    await sleep(3000);
    assert.equal(robotLines(marker).length, 1, 'no second alert on the next run');
  });
});

describe('a complaint about a webhook order', () => {
  test('gets the deadline of that order', async () => {
    const e = orderEvent('order.paid', { order: { goods_kind: 'physical' } });
    await send(JSON.stringify(e));
    await stored(e);
    const ts = now();
    const openid = e.customer.openid;
    const sig = crypto.createHash('sha1').update(`appid=${SECRETS.WECHAT_APPID}&appkey=${SECRETS.PAY_SIGN_KEY}&openid=${openid}&timestamp=${ts}`).digest('hex');
    const feedbackId = `fb${Date.now()}`;
    const xml = cdata({ OpenId: openid, AppId: SECRETS.WECHAT_APPID, TimeStamp: ts, MsgType: 'request', FeedBackId: feedbackId, TransId: e.order.trans_id, AppSignature: sig, SignMethod: 'sha1' });
    assert.equal((await fetch(`${worker.url}/wechat/payfeedback`, { method: 'POST', body: xml })).status, 200);
    const complaint = await waitFor(async () => (await api('/api/complaints?limit=1000')).complaints.find((c) => c.feedback_id === feedbackId), 'the complaint');
    assert.equal(complaint.deadline - complaint.opened_at, 2 * 24 * HOUR, 'physical goods, not delivered: 2 days');
    assert.equal((await orderDetail(e.order.id)).complaints.length, 1);
  });
});

// The orders' trans_id is no longer UNIQUE: a second order of one transaction (合单支付), or a
// second order with "trans_id": "", was answered 200 and then lost in the consumer.
describe('orders sharing a transaction', () => {
  const complain = async (openid, transId) => {
    const ts = now();
    const sig = crypto.createHash('sha1').update(`appid=${SECRETS.WECHAT_APPID}&appkey=${SECRETS.PAY_SIGN_KEY}&openid=${openid}&timestamp=${ts}`).digest('hex');
    const feedbackId = `fb${Date.now()}${serial}`;
    const xml = cdata({ OpenId: openid, AppId: SECRETS.WECHAT_APPID, TimeStamp: ts, MsgType: 'request', FeedBackId: feedbackId, TransId: transId, AppSignature: sig, SignMethod: 'sha1' });
    assert.equal((await fetch(`${worker.url}/wechat/payfeedback`, { method: 'POST', body: xml })).status, 200);
    return waitFor(async () => (await api('/api/complaints?limit=1000')).complaints.find((c) => c.feedback_id === feedbackId), 'the complaint');
  };

  test('two orders paid by one transaction are both stored, and its complaint is on both', async () => {
    const transId = `4200shared${Date.now()}`;
    const physical = orderEvent('order.paid', { order: { trans_id: transId, goods_kind: 'physical' } });
    const virtualGoods = orderEvent('order.delivery_failed', { order: { trans_id: transId, goods_kind: 'virtual' }, customer: { openid: physical.customer.openid } });
    for (const e of [physical, virtualGoods]) {
      assert.equal((await send(JSON.stringify(e))).status, 200);
      await stored(e);
    }
    for (const e of [physical, virtualGoods]) assert.equal((await orderDetail(e.order.id)).order.trans_id, transId);
    assert.equal((await orderDetail(virtualGoods.order.id)).tickets.length, 1, 'the second order acted on');
    const complaint = await complain(physical.customer.openid, transId);
    assert.equal(complaint.deadline - complaint.opened_at, 24 * HOUR, 'the strictest of its orders: virtual, not delivered');
    for (const e of [physical, virtualGoods]) assert.equal((await orderDetail(e.order.id)).complaints.length, 1, e.order.id);
  });

  test('two orders with "trans_id": "" are both stored without one', async () => {
    const events = [orderEvent('order.paid', { order: { trans_id: '' } }), orderEvent('order.delayed', { order: { trans_id: '' }, customer: { openid: '' } })];
    for (const e of events) {
      assert.equal((await send(JSON.stringify(e))).status, 200);
      await stored(e);
    }
    for (const e of events) assert.equal((await orderDetail(e.order.id)).order.trans_id, null);
    const { order, tickets } = await orderDetail(events[1].order.id);
    assert.equal(order.customer_openid, null, '"openid": "" is none');
    assert.equal(tickets.length, 1);
  });
});

describe('refusals', () => {
  test('answer their 4xx and store nothing', async () => {
    const sendSentinel = async () => {
      const e = orderEvent('order.paid');
      assert.equal((await send(JSON.stringify(e))).status, 200);
      return `orders:${e.id}`;
    };
    const e = orderEvent('order.delivery_failed');
    const body = JSON.stringify(e);
    const cases = [
      ['no signature', body, {}, 401, /X-Kefu-Signature/],
      ['wrong secret', body, sign(body, now(), 'not-the-secret'), 401, /signature mismatch/],
      ['signature of another body', body, sign(body.replace('O', 'P')), 401, /signature mismatch/],
      ['stale timestamp', body, sign(body, now() - 4 * 24 * HOUR), 401, /timestamp/],
      ['malformed JSON', '{"id":', sign('{"id":'), 400, /malformed JSON/],
      ['missing order.id', JSON.stringify({ id: 'x', type: 'order.paid', order: {} }), null, 400, /order\.id/],
      ['missing type', JSON.stringify({ id: 'x', order: { id: 'O' } }), null, 400, /field type/],
      ['over 64 KiB', JSON.stringify({ ...e, message: 'x'.repeat(70 * 1024) }), null, 413, /exceeds/],
    ];
    await worker.assertNothingEnqueuedBy(sendSentinel, async () => {
      for (const [name, b, headers, status, reason] of cases) {
        const r = await send(b, headers ?? sign(b));
        assert.equal(r.status, status, name);
        assert.match((await r.json()).error, reason, name);
      }
    });
    assert.equal((await worker.admin(`/api/orders/${e.order.id}`)).status, 404, 'nothing stored');
  });

  test('without ORDER_WEBHOOK_SECRET the route answers 500 naming it', async () => {
    const bare = await startWorker({ ORDER_WEBHOOK_SECRET: undefined });
    try {
      const body = JSON.stringify(orderEvent('order.paid'));
      const r = await fetch(`${bare.url}/hooks/orders`, { method: 'POST', body, headers: sign(body) });
      assert.equal(r.status, 500);
      assert.deepEqual(await r.json(), { error: 'missing setting ORDER_WEBHOOK_SECRET', code: 'missing_setting' });
    } finally {
      await bare.stop();
    }
  });
});

describe('a secret being rotated', () => {
  test('accepts events signed with either of the two secrets, and stores each', async () => {
    const rotating = await startWorker({ ORDER_WEBHOOK_SECRET: `${SECRET},e2e-new-webhook-secret` });
    try {
      const post = (body, headers) => fetch(`${rotating.url}/hooks/orders`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      for (const secret of [SECRET, 'e2e-new-webhook-secret']) {
        const e = orderEvent('order.paid');
        const body = JSON.stringify(e);
        assert.equal((await post(body, sign(body, now(), secret))).status, 200, secret);
        await rotating.storedWith(`orders:${e.id}`);
      }
      const body = JSON.stringify(orderEvent('order.paid'));
      assert.equal((await post(body, sign(body, now(), 'a-third-secret'))).status, 401);
    } finally {
      await rotating.stop();
    }
  });
});

// Runs a sender without blocking this process, whose mock APIs must keep answering meanwhile.
const sender = (program, args) => new Promise((resolve) => {
  execFile(program, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
    resolve({ status: error ? (error.code ?? 1) : 0, stdout, stderr });
  });
});

describe('the senders in examples/card-shop', () => {
  const senders = [
    ['shell', 'bash', ['examples/card-shop/send-order-event.sh']],
    ['Python', 'python3', ['examples/card-shop/send_order_event.py']],
    ['PHP', 'php', ['examples/card-shop/send_order_event.php']],
  ];
  for (const [name, program, args] of senders) {
    test(`the ${name} sender delivers a signed event`, async () => {
      const e = orderEvent('order.delayed', { message: `sent from ${name}` });
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kefu-sender-')), 'event.json');
      fs.writeFileSync(file, JSON.stringify(e));
      const run = await sender(program, [...args, `${worker.url}/hooks/orders`, SECRET, file]);
      assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
      assert.deepEqual(JSON.parse(run.stdout.trim()), { ok: true, id: e.id });
      await stored(e);
      const wrong = await sender(program, [...args, `${worker.url}/hooks/orders`, 'wrong-secret', file]);
      assert.notEqual(wrong.status, 0, 'a wrong secret fails');
      assert.match(wrong.stdout, /signature mismatch/);
    });
  }
});
