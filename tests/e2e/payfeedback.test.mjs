// WeChat Pay complaints (维权) end to end: notifications signed by an independent client, the
// complaint lifecycle and its deadlines, resolution back to a mock WeChat API, and alerts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SECRETS, sleep, startMock, startWorker, waitFor } from './harness.mjs';
import { cdata, msgId, now } from './wechat-client.mjs';

const KEY = SECRETS.PAY_SIGN_KEY;
const APPID = SECRETS.WECHAT_APPID;
const DAY = 86_400;
let worker; let wechat; let robot;
let customSendAnswer = { errcode: 0, errmsg: 'ok' };

before(async () => {
  wechat = await startMock('wechat', (req) => {
    if (req.path === '/cgi-bin/stable_token') return { json: { access_token: 'PAYTOKEN', expires_in: 7200 } };
    if (req.path === '/cgi-bin/message/custom/send') return { json: customSendAnswer };
    return { json: { errcode: 0, errmsg: 'ok' } };
  });
  robot = await startMock('robot');
  // A wide timestamp window lets the tests send complaints made a day or two ago.
  worker = await startWorker({ WECHAT_API_BASE: wechat.url, WECOM_API_BASE: robot.url, CALLBACK_MAX_SKEW_SECS: 10 * DAY });
});
after(async () => { await worker?.stop(); await wechat?.close(); await robot?.close(); });

// AppSignature as seed 002 defines it: sha1 of appid, appkey, openid, timestamp (keys ascending).
function appSignature({ appid, appkey, openid, timestamp }) {
  return crypto.createHash('sha1').update(`appid=${appid}&appkey=${appkey}&openid=${openid}&timestamp=${timestamp}`).digest('hex');
}

function notification({ msgType = 'request', feedbackId, openid, timestamp = now(), transId, key = KEY, appid = APPID, signature }) {
  const sig = signature ?? appSignature({ appid, appkey: key, openid, timestamp });
  const fields = { OpenId: openid, AppId: appid, TimeStamp: timestamp, MsgType: msgType, FeedBackId: feedbackId };
  if (transId) fields.TransId = transId;
  Object.assign(fields, { Reason: '卡密无效 invalid key', Solution: '退款', ExtInfo: '18610847266', AppSignature: sig, SignMethod: 'sha1' });
  return cdata(fields).replace('</xml>', '<PicInfo><item><PicUrl><![CDATA[http://mmbiz.qpic.cn/1.jpg]]></PicUrl></item></PicInfo></xml>');
}

const post = (body) => fetch(`${worker.url}/wechat/payfeedback`, { method: 'POST', body });
const api = async (p) => (await worker.admin(p)).json();
const complaint = async (fid) => (await api('/api/complaints?limit=1000')).complaints.find((c) => c.feedback_id === fid);
// Alerts are coalesced into robot messages one line each: count the lines that mention all parts.
const robotMentions = (...parts) => robot.requests
  .flatMap((r) => (r.json?.markdown?.content ?? '').split('\n'))
  .filter((line) => parts.every((p) => line.includes(p))).length;
const fresh = () => ({ feedbackId: msgId(), openid: `oPay${msgId()}` });
const ticketOf = async (openid) => (await api('/api/tickets?limit=1000')).tickets.find((t) => t.customer_id === openid);

async function opened(n) {
  const r = await post(notification(n));
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'success');
  return waitFor(() => complaint(n.feedbackId), `complaint ${n.feedbackId}`);
}

describe('notifications', () => {
  test('a request opens a complaint with the strictest deadline, a high-priority ticket and an alert', async () => {
    const n = fresh();
    const c = await opened(n);
    assert.equal(c.status, 'open');
    assert.equal(c.deadline - c.opened_at, DAY, 'unknown order: 1 day');
    assert.equal(c.warning_due, c.deadline - DAY / 4);
    assert.deepEqual(JSON.parse(c.pic_urls), ['http://mmbiz.qpic.cn/1.jpg']);
    const ticket = await ticketOf(n.openid);
    assert.equal(ticket.priority, 'high');
    assert.equal(ticket.category, 'complaint');
    assert.equal(ticket.resolution_due, c.deadline);
    await waitFor(() => robotMentions(n.feedbackId, 'resolve by', '(24 h)') === 1, 'the alert with its deadline');
  });

  test('the deadline comes from the order when the card shop told us about it', async () => {
    const cases = [['physical', null, 2], ['physical', now() - 3600, 15], ['virtual', now() - 3600, 3], ['virtual', null, 1]];
    for (const [kind, deliveredAt, days] of cases) {
      const n = { ...fresh(), transId: `42000${msgId()}` };
      const order = { trans_id: n.transId, goods_kind: kind, ...(deliveredAt ? { delivered_at: deliveredAt } : {}) };
      assert.equal((await worker.admin(`/api/orders/ord-${n.transId}`, { method: 'PUT', body: JSON.stringify(order) })).status, 200);
      const c = await opened(n);
      assert.equal(c.deadline - c.opened_at, days * DAY, `${kind} delivered=${!!deliveredAt}`);
      assert.equal(c.goods_kind, kind);
    }
  });

  test('retried notifications store one complaint and alert once', async () => {
    const n = { ...fresh(), timestamp: now() };
    const body = notification(n);
    const replies = await Promise.all([1, 2, 3, 4, 5].map(() => post(body)));
    for (const r of replies) assert.equal(r.status, 200);
    await waitFor(() => robotMentions(n.feedbackId) > 0, 'the alert');
    await sleep(2000);
    const events = (await api('/api/events?limit=1000')).events.filter((e) => e.dedup_key.startsWith(`payfeedback:${n.feedbackId}:`));
    assert.equal(events.length, 1);
    assert.equal(robotMentions(n.feedbackId), 1);
  });

  test('confirm closes the complaint; reject reopens it and escalates', async () => {
    const n = fresh();
    await opened(n);
    await post(notification({ ...n, msgType: 'confirm', timestamp: now() + 1 }));
    await waitFor(async () => (await complaint(n.feedbackId)).status === 'closed', 'closed');
    assert.equal((await ticketOf(n.openid)).status, 'resolved');
    await post(notification({ ...n, msgType: 'reject', timestamp: now() + 2 }));
    await waitFor(async () => (await complaint(n.feedbackId)).status === 'reopened', 'reopened');
    const ticket = await ticketOf(n.openid);
    assert.equal(ticket.status, 'open');
    assert.equal(ticket.priority, 'urgent');
    await waitFor(() => robotMentions('ESCALATED', n.feedbackId) === 1, 'the escalation alert');
    const { timeline } = await api(`/api/tickets/${ticket.id}`);
    assert.deepEqual(timeline.filter((e) => e.kind === 'complaint').map((e) => e.body.split(':')[1].trim().split(' ')[0]),
      ['卡密无效', 'the', 'the']);
  });

  test('bad input is refused with nothing stored', async () => {
    const n = fresh();
    const cases = [
      ['bad signature', notification({ ...n, signature: 'f'.repeat(40) }), 403],
      ['signed with another key', notification({ ...n, key: 'not-the-key' }), 403],
      ['another AppId', notification({ ...n, appid: 'wx0000000000000000' }), 403],
      ['stale timestamp', notification({ ...n, timestamp: now() - 20 * DAY }), 403],
      ['unknown MsgType', notification({ ...n, msgType: 'complain' }), 400],
      ['malformed XML', '<xml><OpenId>x</AppId></xml>', 400],
      ['DOCTYPE', `<!DOCTYPE xml [<!ENTITY a "b">]>${notification(n)}`, 400],
      ['over 64 KiB', notification(n).replace('</xml>', `<Pad>${'x'.repeat(66 * 1024)}</Pad></xml>`), 413],
    ];
    for (const [name, body, status] of cases) {
      const r = await post(body);
      assert.equal(r.status, status, name);
      assert.ok((await r.json()).error, name);
    }
    const sentinel = fresh();
    await opened(sentinel);
    assert.equal(await complaint(n.feedbackId), undefined);
    const events = (await api('/api/events?limit=1000')).events.filter((e) => e.dedup_key.includes(n.feedbackId));
    assert.deepEqual(events, []);
  });
});

describe('resolution', () => {
  test('resolve sends one custom/send and one payfeedback/update per call', async () => {
    const n = fresh();
    await opened(n);
    const r = await worker.admin(`/api/complaints/${n.feedbackId}/resolve`, { method: 'POST', body: JSON.stringify({ message: '已为您退款 refunded' }) });
    assert.equal(r.status, 202);
    const sends = () => wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === n.openid);
    const updates = () => wechat.calls('/payfeedback/update').filter((c) => c.query.feedbackid === n.feedbackId);
    await waitFor(() => sends().length === 1 && updates().length === 1, 'both calls');
    assert.deepEqual(sends()[0].json, { touser: n.openid, msgtype: 'text', text: { content: '已为您退款 refunded' } });
    assert.equal(sends()[0].query.access_token, 'PAYTOKEN');
    assert.deepEqual(updates()[0].query, { access_token: 'PAYTOKEN', openid: n.openid, feedbackid: n.feedbackId });
    assert.equal((await complaint(n.feedbackId)).status, 'processed');
    const ticket = await ticketOf(n.openid);
    await waitFor(async () => (await api(`/api/tickets/${ticket.id}`)).timeline.filter((e) => e.kind === 'outbound').length === 2, 'outcomes on the timeline');
    await sleep(2000);
    assert.equal(sends().length, 1, 'exactly one custom/send');
    assert.equal(updates().length, 1, 'exactly one payfeedback/update');
    // A second resolve is a second call, without a message: one more update, no send.
    assert.equal((await worker.admin(`/api/complaints/${n.feedbackId}/resolve`, { method: 'POST', body: '{}' })).status, 202);
    await waitFor(() => updates().length === 2, 'the second update');
    assert.equal(sends().length, 1);
  });

  test('resolve refuses closed complaints, unknown ones, bad messages and bad tokens', async () => {
    const n = fresh();
    await opened(n);
    const resolve = (fid, body, headers) => worker.admin(`/api/complaints/${fid}/resolve`, { method: 'POST', body, headers });
    assert.equal((await resolve(n.feedbackId, JSON.stringify({ message: '' }))).status, 400);
    assert.equal((await resolve(n.feedbackId, '{"message": {"msgtype": "news", "articles": []}}')).status, 400);
    assert.equal((await resolve('no-such-complaint', '{}')).status, 404);
    assert.equal((await resolve(n.feedbackId, '{}', { authorization: 'Bearer nope' })).status, 401);
    await post(notification({ ...n, msgType: 'confirm', timestamp: now() + 1 }));
    await waitFor(async () => (await complaint(n.feedbackId)).status === 'closed', 'closed');
    assert.equal((await resolve(n.feedbackId, '{}')).status, 409);
  });

  test('a message outside the 48-hour window (45015) is recorded on the ticket and not retried', async () => {
    const n = fresh();
    await opened(n);
    customSendAnswer = { errcode: 45015, errmsg: 'response out of time limit or subscription is canceled' };
    try {
      await worker.admin(`/api/complaints/${n.feedbackId}/resolve`, { method: 'POST', body: JSON.stringify({ message: 'late' }) });
      const ticket = await ticketOf(n.openid);
      const entry = await waitFor(async () => (await api(`/api/tickets/${ticket.id}`)).timeline.find((e) => e.body.startsWith('not delivered')), 'the timeline entry');
      assert.match(entry.body, /errcode 45015/);
      const dead = (await api('/api/dead-letters')).dead_letters.find((d) => d.body.includes(n.openid));
      assert.match(dead.reason, /^errcode 45015/);
      await sleep(3000);
      assert.equal(wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === n.openid).length, 1);
    } finally {
      customSendAnswer = { errcode: 0, errmsg: 'ok' };
    }
  });
});

describe('races and reordering', () => {
  test('two concurrent resolves with one Idempotency-Key send one custom/send and one payfeedback/update', async () => {
    const n = fresh();
    await opened(n);
    const resolve = () => worker.admin(`/api/complaints/${n.feedbackId}/resolve`, {
      method: 'POST', body: JSON.stringify({ message: '已退款 once' }), headers: { 'idempotency-key': `dialog-${n.feedbackId}` },
    });
    const answers = await Promise.all([resolve(), resolve()]);
    assert.deepEqual(answers.map((r) => r.status), [202, 202]);
    const [a, b] = await Promise.all(answers.map((r) => r.json()));
    assert.deepEqual(a.deliveries, b.deliveries, 'the same deliveries');
    assert.deepEqual([a.repeated, b.repeated].sort(), [false, true]);
    const sends = () => wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === n.openid);
    const updates = () => wechat.calls('/payfeedback/update').filter((c) => c.query.feedbackid === n.feedbackId);
    await waitFor(() => sends().length === 1 && updates().length === 1, 'both calls');
    await sleep(2000);
    assert.equal(sends().length, 1, 'exactly one custom/send');
    assert.equal(updates().length, 1, 'exactly one payfeedback/update');
  });

  test('a reject processed after the confirm that answered it does not reopen or escalate', async () => {
    const n = fresh();
    const t0 = now() - 300;
    await post(notification({ ...n, timestamp: t0 }));
    await waitFor(async () => (await complaint(n.feedbackId))?.status === 'open', 'opened');
    // Sent: reject at t0+100, confirm at t0+200. Delivered: the confirm first.
    assert.equal((await post(notification({ ...n, msgType: 'confirm', timestamp: t0 + 200 }))).status, 200);
    await waitFor(async () => (await complaint(n.feedbackId)).status === 'closed', 'closed');
    assert.equal((await post(notification({ ...n, msgType: 'reject', timestamp: t0 + 100 }))).status, 200);
    await waitFor(async () => (await api('/api/events?limit=1000')).events.some((e) => e.dedup_key === `payfeedback:${n.feedbackId}:reject:${t0 + 100}`), 'the late reject stored');
    await sleep(1500);
    const c = await complaint(n.feedbackId);
    assert.equal(c.status, 'closed');
    assert.equal(c.escalated_at, null);
    assert.equal(robotMentions('ESCALATED', n.feedbackId), 0, 'no false escalation');
    // In the order sent, the same pair ends closed too, after an escalation.
    const m = fresh();
    await post(notification({ ...m, timestamp: t0 }));
    await waitFor(async () => (await complaint(m.feedbackId))?.status === 'open', 'opened');
    await post(notification({ ...m, msgType: 'reject', timestamp: t0 + 100 }));
    await waitFor(async () => (await complaint(m.feedbackId)).status === 'reopened', 'reopened');
    await post(notification({ ...m, msgType: 'confirm', timestamp: t0 + 200 }));
    await waitFor(async () => (await complaint(m.feedbackId)).status === 'closed', 'closed');
  });
});

describe('deadlines', () => {
  const cron = async () => assert.equal((await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`)).status, 200);

  test('the cron warns once when a quarter of the time is left and once when overdue', async () => {
    const quarter = { ...fresh(), timestamp: now() - 20 * 3600 }; // 1-day deadline, 4 h left
    const overdue = { ...fresh(), timestamp: now() - 2 * DAY };
    await opened(quarter);
    await opened(overdue);
    const complaints = (await api('/api/complaints?limit=1000')).complaints;
    const order = complaints.map((c) => c.feedback_id);
    assert.ok(order.indexOf(overdue.feedbackId) < order.indexOf(quarter.feedbackId), 'overdue listed first');
    await cron();
    await cron();
    await waitFor(() => robotMentions('OVERDUE', overdue.feedbackId) === 1 && robotMentions('A quarter of the time', quarter.feedbackId) === 1, 'the warnings');
    await cron();
    await sleep(2000);
    assert.equal(robotMentions('OVERDUE', overdue.feedbackId), 1);
    assert.equal(robotMentions('A quarter of the time', quarter.feedbackId), 1);
    assert.equal(robotMentions('OVERDUE', quarter.feedbackId), 0);
    assert.equal(robotMentions('A quarter of the time', overdue.feedbackId), 0, 'found overdue: only the overdue warning');
  });
});
