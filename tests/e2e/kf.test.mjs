// /wechat/kf end to end: the Worker in wrangler dev, driven as WeCom's 微信客服 callback would
// drive it, against a mock WeCom on 127.0.0.1 serving gettoken, kf/sync_msg in pages (the last
// page replayed once), send_msg, send_msg_on_event, service_state and customer/batchget.
// service_state/get answers each customer's state from `sessionStates` (0 unless set);
// `sendFailures` are answers (or hangs) for the next kf/send_msg calls only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startMock, startWorker, waitFor } from './harness.mjs';
import { encrypt, nonce, now, sha1Signature } from './wechat-client.mjs';

const KF = {
  WECOM_CORP_ID: 'wwe2e00000000kf01',
  WECOM_KF_SECRET: 'e2e-kf-secret',
  WECOM_KF_TOKEN: 'e2eKfToken',
  WECOM_KF_AES_KEY: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
};
let worker;
let wecom;

// Each account's pages: a list of msg_list arrays, served one per cursor; the last one is served
// a second time (a replay) to the first sync that asks from the cursor after it.
const pages = new Map();
const replayed = new Set();
const sessionStates = new Map();
const sendFailures = [];

function syncAnswer({ open_kfid: kfid, cursor }) {
  const list = pages.get(kfid) ?? [];
  const at = cursor ? Number(cursor.split(':')[1]) : 0;
  if (at < list.length) {
    return { errcode: 0, errmsg: 'ok', next_cursor: `${kfid}:${at + 1}`, has_more: at + 1 < list.length ? 1 : 0, msg_list: list[at] };
  }
  if (list.length > 0 && !replayed.has(kfid)) {
    replayed.add(kfid);
    return { errcode: 0, errmsg: 'ok', next_cursor: `${kfid}:${at}`, has_more: 0, msg_list: list[list.length - 1] };
  }
  return { errcode: 0, errmsg: 'ok', next_cursor: `${kfid}:${at}`, has_more: 0, msg_list: [] };
}

function respond(req) {
  switch (req.path) {
    case '/cgi-bin/gettoken':
      return { json: { errcode: 0, errmsg: 'ok', access_token: 'KF-AT-1', expires_in: 7200 } };
    case '/cgi-bin/kf/sync_msg':
      return { json: syncAnswer(req.json) };
    case '/cgi-bin/kf/customer/batchget':
      return { json: { errcode: 0, errmsg: 'ok', customer_list: req.json.external_userid_list.map((id) => ({ external_userid: id, nickname: `客户${id.slice(-3)}`, avatar: 'http://127.0.0.1/a.png', unionid: `u-${id}` })), invalid_external_userid: [] } };
    case '/cgi-bin/kf/service_state/get': {
      const [state, servicer] = sessionStates.get(req.json.external_userid) ?? [0];
      return { json: { errcode: 0, errmsg: 'ok', service_state: state, ...(servicer ? { servicer_userid: servicer } : {}) } };
    }
    case '/cgi-bin/kf/send_msg':
      return sendFailures.shift() ?? { json: { errcode: 0, errmsg: 'ok', msgid: req.json?.msgid } };
    default:
      return { json: { errcode: 0, errmsg: 'ok', msgid: req.json?.msgid } };
  }
}

before(async () => {
  wecom = await startMock('wecom', respond);
  worker = await startWorker({ ...KF, WECOM_API_BASE: wecom.url });
});
after(async () => { await worker?.stop(); await wecom?.close(); });

const sign = (ts, n, enc) => sha1Signature(KF.WECOM_KF_TOKEN, ts, n, enc);

// A callback as WeCom sends it: msg_signature, timestamp, nonce; the body sealed for `corpId`.
function callback(openKfid, { corpId = KF.WECOM_CORP_ID, timestamp = now(), token = `ENC${nonce()}` } = {}) {
  const xml = `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><CreateTime>${timestamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>`
    + `<Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[${token}]]></Token><OpenKfId><![CDATA[${openKfid}]]></OpenKfId></xml>`;
  const enc = encrypt(KF.WECOM_KF_AES_KEY, corpId, xml);
  const ts = String(timestamp);
  const n = nonce();
  return {
    query: new URLSearchParams({ msg_signature: sign(ts, n, enc), timestamp: ts, nonce: n }).toString(),
    body: `<xml><ToUserName><![CDATA[${KF.WECOM_CORP_ID}]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`,
  };
}

const post = ({ query, body }) => fetch(`${worker.url}/wechat/kf?${query}`, { method: 'POST', body });

async function sendCallback(openKfid, opts) {
  const r = await post(callback(openKfid, opts));
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'success');
}

const api = async (p) => (await worker.admin(p)).json();
const syncsOf = (kfid) => wecom.calls('/cgi-bin/kf/sync_msg').filter((r) => r.json.open_kfid === kfid);
// Sends callbacks until the account was synced twice from its last cursor: the replay of the
// last page, then an empty page. Syncs of one account run one at a time, so by the second the
// replay's run has stored (or refused) everything.
async function drained(kfid) {
  const end = `${kfid}:${pages.get(kfid).length}`;
  const fromEnd = () => syncsOf(kfid).filter((r) => r.json.cursor === end).length;
  while (fromEnd() < 2) {
    const before = syncsOf(kfid).length;
    await sendCallback(kfid);
    await waitFor(() => syncsOf(kfid).length > before, `a sync of ${kfid}`);
  }
}

let seq = 0;
const id = (prefix) => `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}`;
const text = (kfid, user, content) => ({ msgid: id('m'), open_kfid: kfid, external_userid: user, send_time: now(), origin: 3, msgtype: 'text', text: { content } });

async function ticketsOf(customerId) {
  const { tickets } = await api('/api/tickets?limit=1000');
  return Promise.all(tickets.filter((t) => t.customer_id === customerId).map((t) => api(`/api/tickets/${t.id}`)));
}

describe('the URL check', () => {
  const get = (query) => fetch(`${worker.url}/wechat/kf?${query}`);
  test('answers the decrypted echostr when msg_signature matches', async () => {
    const echostr = encrypt(KF.WECOM_KF_AES_KEY, KF.WECOM_CORP_ID, '1616161616161616');
    const ts = String(now());
    const r = await get(new URLSearchParams({ msg_signature: sign(ts, '77', echostr), timestamp: ts, nonce: '77', echostr }));
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '1616161616161616');
  });
  test('refuses a wrong signature, a stale timestamp, another CorpID and a missing msg_signature', async () => {
    const echostr = encrypt(KF.WECOM_KF_AES_KEY, KF.WECOM_CORP_ID, '42');
    const ts = String(now());
    assert.equal((await get(new URLSearchParams({ msg_signature: '0'.repeat(40), timestamp: ts, nonce: '1', echostr }))).status, 403);
    const old = String(now() - 3600);
    assert.equal((await get(new URLSearchParams({ msg_signature: sign(old, '1', echostr), timestamp: old, nonce: '1', echostr }))).status, 403);
    const foreign = encrypt(KF.WECOM_KF_AES_KEY, 'wwsomeoneelse', '42');
    assert.equal((await get(new URLSearchParams({ msg_signature: sign(ts, '1', foreign), timestamp: ts, nonce: '1', echostr: foreign }))).status, 403);
    assert.equal((await get(new URLSearchParams({ timestamp: ts, nonce: '1', echostr }))).status, 400);
  });
});

describe('callbacks', () => {
  test('bad input is refused (400, 403, 413) and starts no sync', async () => {
    const kfid = 'wkBadInput01';
    pages.set(kfid, [[text(kfid, 'wmShouldNotSync', 'x')]]);
    const good = callback(kfid);
    const stale = callback(kfid, { timestamp: now() - 3600 });
    const foreign = callback(kfid, { corpId: 'wwsomeoneelse' });
    const cases = [
      ['no Encrypt', { ...good, body: '<xml><ToUserName>x</ToUserName></xml>' }, 400],
      ['not XML', { ...good, body: 'garbage' }, 400],
      ['bad signature', { ...good, query: good.query.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'f'.repeat(40)}`) }, 403],
      ['stale', stale, 403],
      ['another CorpID', foreign, 403],
      ['too large', { ...good, body: `<xml><Encrypt>${'A'.repeat(300_000)}</Encrypt></xml>` }, 413],
      ['no msg_signature', { ...good, query: good.query.replace(/msg_signature=[0-9a-f]+&?/, '') }, 400],
    ];
    for (const [what, request, status] of cases) {
      const r = await post(request);
      assert.equal(r.status, status, what);
      assert.ok((await r.json()).error, what);
    }
    // A valid callback of another account afterwards: once its sync ran, the bad ones had queued
    // nothing (the queue delivers in order).
    const sentinel = 'wkSentinel01';
    pages.set(sentinel, [[]]);
    await sendCallback(sentinel);
    await waitFor(() => syncsOf(sentinel).length > 0, 'the sentinel sync');
    assert.equal(syncsOf(kfid).length, 0);
  });

  test('two overlapping callbacks give one ticket and one timeline entry per msgid, the last page replayed', async () => {
    const kfid = 'wkOverlap001';
    const [a, b] = ['wmCustomerA01', 'wmCustomerB01'];
    const list = [
      [text(kfid, a, 'page one from A'), text(kfid, b, 'page one from B')],
      [text(kfid, a, 'page two from A')],
      [text(kfid, b, 'page three from B'), text(kfid, a, 'page three from A')],
    ];
    pages.set(kfid, list);
    await Promise.all([sendCallback(kfid), sendCallback(kfid)]);
    await drained(kfid);
    const byUser = (user) => list.flat().filter((m) => m.external_userid === user);
    for (const user of [a, b]) {
      const [ticket, ...others] = await ticketsOf(`${kfid}/${user}`);
      assert.equal(others.length, 0, `${user}: one ticket`);
      assert.equal(ticket.ticket.channel, 'kf');
      assert.deepEqual(
        ticket.timeline.map((e) => ({ kind: e.kind, body: e.body, key: e.event_key })),
        byUser(user).map((m) => ({ kind: 'inbound', body: m.text.content, key: `kf:msg:${m.msgid}` })),
        user,
      );
    }
    const events = (await worker.events()).filter((e) => e.kind === 'kf_message');
    for (const m of list.flat()) assert.equal(events.filter((e) => e.dedup_key === `kf:msg:${m.msgid}`).length, 1);
    // The callback's token went along; no two syncs of the account read from one cursor.
    const syncs = syncsOf(kfid);
    assert.ok(syncs.every((r) => r.json.token?.startsWith('ENC') && r.json.limit === 1000));
    const cursors = syncs.map((r) => r.json.cursor ?? '');
    const ends = cursors.filter((c) => c === `${kfid}:3`).length;
    assert.equal(new Set(cursors).size, cursors.length - ends + 1, `each cursor read once but the last: ${cursors}`);
    // Profiles: each customer once.
    const asked = wecom.calls('/cgi-bin/kf/customer/batchget').flatMap((r) => r.json.external_userid_list);
    assert.deepEqual(asked.filter((u) => u === a || u === b).sort(), [a, b]);
    assert.equal((await ticketsOf(`${kfid}/${a}`))[0].ticket.customer_name, `客户${a.slice(-3)}`);
  });

  test('an enter_session with a welcome_code is welcomed once', async () => {
    const put = await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify({ kf_welcome: '欢迎来到 e2e 小店' }) });
    assert.equal(put.status, 200);
    const kfid = 'wkWelcome001';
    const user = 'wmWelcomed001';
    const enter = { msgid: id('e'), send_time: now(), origin: 4, msgtype: 'event', event: { event_type: 'enter_session', open_kfid: kfid, external_userid: user, scene: 'shop', scene_param: 'from%3De2e', welcome_code: 'WELCOME-CODE-1' } };
    pages.set(kfid, [[enter]]);
    await drained(kfid);
    const { deliveries } = await api('/api/deliveries?limit=1000');
    const recorded = deliveries.filter((d) => d.target === 'wecom_kf_welcome');
    assert.equal(recorded.length, 1, 'one welcome recorded for the code');
    await waitFor(async () => {
      const { deliveries: now } = await api('/api/deliveries?limit=1000');
      return now.find((d) => d.id === recorded[0].id)?.state === 'delivered';
    }, 'the welcome delivered');
    const welcomes = wecom.calls('/cgi-bin/kf/send_msg_on_event');
    assert.equal(welcomes.length, 1);
    assert.equal(welcomes[0].query.access_token, 'KF-AT-1');
    assert.deepEqual({ ...welcomes[0].json, msgid: undefined }, { code: 'WELCOME-CODE-1', msgid: undefined, msgtype: 'text', text: { content: '欢迎来到 e2e 小店' } });
    assert.match(welcomes[0].json.msgid, /^[0-9a-zA-Z_-]{1,32}$/);
  });
});

describe('replies', () => {
  const reply = (ticket, text) => worker.admin(`/api/tickets/${ticket}/reply`, { method: 'POST', body: JSON.stringify({ text }) });
  const deliveryState = async (id) => (await api('/api/deliveries?limit=1000')).deliveries.find((d) => d.id === id)?.state;

  async function customerTicket(kfid, user, message = text(kfid, user, '请问在吗')) {
    pages.set(kfid, [[message]]);
    await drained(kfid);
    return (await ticketsOf(`${kfid}/${user}`))[0].ticket;
  }

  test('one send_msg per reply under a timeout and its retry', async () => {
    const ticket = await customerTicket('wkReply00001', 'wmReplied001');
    sendFailures.push({ hang: true });
    const r = await reply(ticket.id, '您好，在的');
    assert.equal(r.status, 202);
    const { delivery, channel } = await r.json();
    assert.equal(channel, 'wecom_kf');
    await waitFor(async () => (await deliveryState(delivery)) === 'delivered', 'the reply delivered', 120_000);
    const sends = wecom.calls('/cgi-bin/kf/send_msg').filter((s) => s.json.touser === 'wmReplied001');
    assert.ok(sends.length >= 2, 'the timed-out send was retried');
    // Every attempt is the same message to WeCom: one msgid, which WeCom de-duplicates.
    assert.equal(new Set(sends.map((s) => s.json.msgid)).size, 1);
    assert.match(sends[0].json.msgid, /^[0-9a-zA-Z_-]{1,32}$/);
    assert.deepEqual({ ...sends[0].json, msgid: undefined }, { touser: 'wmReplied001', open_kfid: 'wkReply00001', msgid: undefined, msgtype: 'text', text: { content: '您好，在的' } });
    // The session state was unknown: asked once before the first attempt, then known (0).
    const asked = wecom.calls('/cgi-bin/kf/service_state/get').filter((c) => c.json.external_userid === 'wmReplied001');
    assert.deepEqual(asked.map((c) => c.json), [{ open_kfid: 'wkReply00001', external_userid: 'wmReplied001' }]);
    assert.ok(asked[0].at < sends[0].at, 'asked before the send');
  });

  test('a 95018 (the session is not in state 0 or 1) is on the timeline', async () => {
    const ticket = await customerTicket('wkReply00002', 'wmHuman00001');
    sendFailures.push({ json: { errcode: 95018, errmsg: 'send msg session status invalid' } });
    const r = await reply(ticket.id, '稍等');
    assert.equal(r.status, 202);
    const { delivery } = await r.json();
    await waitFor(async () => (await deliveryState(delivery)) === 'dead', 'the refusal recorded');
    const { timeline } = await api(`/api/tickets/${ticket.id}`);
    assert.ok(timeline.some((e) => e.kind === 'outbound' && /95018/.test(e.body)), JSON.stringify(timeline));
  });

  test('a session with an agent in the WeCom app (state 3) is not sent to: dead with the reason, then 409', async () => {
    sessionStates.set('wmWithAgent01', [3, 'zhangsan']);
    const ticket = await customerTicket('wkReply00003', 'wmWithAgent01');
    const r = await reply(ticket.id, '您好');
    assert.equal(r.status, 202, 'the state was unknown when the reply was written');
    const { delivery } = await r.json();
    await waitFor(async () => (await deliveryState(delivery)) === 'dead', 'the refusal recorded');
    assert.equal(wecom.calls('/cgi-bin/kf/send_msg').filter((c) => c.json.touser === 'wmWithAgent01').length, 0);
    const { timeline } = await api(`/api/tickets/${ticket.id}`);
    const line = timeline.find((e) => e.kind === 'outbound');
    assert.match(line.body, /^not delivered: 微信客服: the customer's session is with an agent in the WeCom app \(3\)/);
    // Known now: the next reply is refused at once, nothing recorded.
    const again = await reply(ticket.id, '还在吗');
    assert.equal(again.status, 409);
    assert.match((await again.json()).error, /with an agent in the WeCom app \(3\)/);
    assert.equal(wecom.calls('/cgi-bin/kf/service_state/get').filter((c) => c.json.external_userid === 'wmWithAgent01').length, 1);
  });

  test("the 48-hour window runs from the customer's send_time, not from the sync", async () => {
    const kfid = 'wkReply00004';
    const user = 'wmLateSync001';
    const wrote = now() - 49 * 3600;
    const ticket = await customerTicket(kfid, user, { ...text(kfid, user, '两天前的消息'), send_time: wrote });
    const { timeline } = await api(`/api/tickets/${ticket.id}`);
    assert.deepEqual(timeline.filter((e) => e.kind === 'inbound').map((e) => e.at), [wrote]);
    const r = await reply(ticket.id, '抱歉久等');
    assert.equal(r.status, 409);
    assert.match((await r.json()).error, /closed/);
  });
});
