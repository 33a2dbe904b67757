// The event pipeline end to end: exactly-once storage, tickets, WeCom robot alerts, retries,
// dead letters and the access_token, against mock WeChat and WeCom APIs on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SECRETS, sleep, startMock, startWorker, waitFor } from './harness.mjs';
import { cdata, msgId, now, plainQuery } from './wechat-client.mjs';

const TOKEN = SECRETS.WECHAT_TOKEN;
let worker; let wechat; let robot;
let tokenSerial = 0;
// Tokens the mock treats as expired: calls with them answer 40001.
const expired = new Set();
let onlineList = { kf_online_list: [] };

before(async () => {
  wechat = await startMock('wechat', (req) => {
    if (req.path === '/cgi-bin/stable_token') {
      tokenSerial += 1;
      return { json: { access_token: `T${tokenSerial}`, expires_in: 7200 } };
    }
    if (expired.has(req.query.access_token)) return { json: { errcode: 40001, errmsg: 'invalid credential' } };
    if (req.path === '/cgi-bin/customservice/getonlinekflist') return { json: onlineList };
    return { json: { errcode: 0, errmsg: 'ok' } };
  });
  robot = await startMock('robot');
  worker = await startWorker({ WECHAT_API_BASE: wechat.url, WECOM_API_BASE: robot.url });
});
after(async () => { await worker?.stop(); await wechat?.close(); await robot?.close(); });

const post = (xml) => fetch(`${worker.url}/wechat/oa?${plainQuery(TOKEN)}`, { method: 'POST', body: xml });
const textFrom = (openid, content, id = msgId(), createTime = now()) =>
  cdata({ ToUserName: 'gh_test', FromUserName: openid, CreateTime: createTime, MsgType: 'text', Content: content, MsgId: id });
const kfEvent = (openid, event, kf, createTime = now()) =>
  cdata({ ToUserName: 'gh_test', FromUserName: openid, CreateTime: createTime, MsgType: 'event', Event: event, KfAccount: kf });
const api = async (p) => (await worker.admin(p)).json();
const ticketsOf = async (openid) => (await api('/api/tickets?limit=1000')).tickets.filter((t) => t.customer_id === openid);
const robotTexts = () => robot.requests.map((r) => r.json?.markdown?.content ?? '');
const robotMentions = (marker) => robotTexts().filter((c) => c.includes(marker)).length;

describe('exactly once', () => {
  test('a retry storm yields one event, one ticket, one timeline entry and one alert', async () => {
    const openid = `oStorm${msgId()}`;
    const id = msgId();
    const xml = textFrom(openid, 'storm-marker please help', id);
    const replies = await Promise.all(Array.from({ length: 10 }, () => post(xml)));
    for (const r of replies) assert.equal(r.status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await post(xml)).status, 200);
    await waitFor(async () => robotMentions('storm-marker') > 0, 'the alert');
    await sleep(3000); // let any duplicate that slipped through surface
    const events = (await api('/api/events?limit=1000')).events.filter((e) => e.dedup_key === `oa:msg:${id}`);
    assert.equal(events.length, 1);
    const tickets = await ticketsOf(openid);
    assert.equal(tickets.length, 1);
    const { timeline } = await api(`/api/tickets/${tickets[0].id}`);
    assert.equal(timeline.length, 1);
    assert.equal(robotMentions('storm-marker'), 1);
  });

  test('a conversation: open, agent takes it, closes it, customer writes again and reopens it', async () => {
    const openid = `oConv${msgId()}`;
    const t0 = now();
    await post(textFrom(openid, 'first question'));
    const [ticket] = await waitFor(async () => { const t = await ticketsOf(openid); return t.length && t; }, 'the ticket');
    assert.equal(ticket.status, 'open');
    assert.equal(ticket.channel, 'oa');
    assert.ok(ticket.first_response_due > ticket.created_at && ticket.resolution_due > ticket.first_response_due);
    await post(kfEvent(openid, 'kf_create_session', 'anna@gh_test', t0 + 1));
    await waitFor(async () => (await ticketsOf(openid))[0].assignee === 'anna@gh_test', 'the assignee');
    assert.ok((await ticketsOf(openid))[0].first_response_at >= ticket.created_at);
    await post(kfEvent(openid, 'kf_close_session', 'anna@gh_test', t0 + 2));
    await waitFor(async () => (await ticketsOf(openid))[0].status === 'resolved', 'resolved');
    await post(textFrom(openid, 'one more thing'));
    await waitFor(async () => (await ticketsOf(openid))[0].status === 'open', 'reopened');
    const tickets = await ticketsOf(openid);
    assert.equal(tickets.length, 1, 'the same ticket is reopened, not a new one');
    const { timeline } = await api(`/api/tickets/${tickets[0].id}`);
    assert.deepEqual(timeline.map((e) => e.kind), ['inbound', 'agent', 'agent', 'inbound']);
    assert.deepEqual(timeline.map((e) => e.body), ['first question', 'session taken by anna@gh_test', 'session closed by anna@gh_test', 'one more thing']);
  });
});

describe('outbound calls', () => {
  test('a robot failing twice with 500 is delivered once, on the third attempt', async () => {
    robot.failNext(2, 500);
    await post(textFrom(`oRetry${msgId()}`, 'retry-marker order 42'));
    await waitFor(async () => robot.requests.filter((r) => r.json?.markdown?.content?.includes('retry-marker')).length === 3, 'three attempts', 30_000);
    const attempts = robot.requests.filter((r) => r.json?.markdown?.content?.includes('retry-marker'));
    assert.equal(attempts[0].query.key, SECRETS.WECOM_ROBOT_KEY);
    assert.ok(attempts[1].at - attempts[0].at >= 900, 'backoff before the second attempt');
    assert.ok(attempts[2].at - attempts[1].at >= 1900, 'longer backoff before the third');
    const delivered = await waitFor(async () => (await api('/api/deliveries?state=delivered')).deliveries
      .find((d) => d.payload.includes('retry-marker')), 'delivered state');
    assert.equal(delivered.attempts, 3);
    await sleep(3000);
    assert.equal(robotMentions('retry-marker'), 3, 'no fourth call');
  });

  test('a permanent errcode becomes a dead letter with its reason, and can be replayed', async () => {
    robot.failNext(1, 200, { errcode: 93000, errmsg: 'invalid webhook url' });
    await post(textFrom(`oDead${msgId()}`, 'dead-marker'));
    const dead = await waitFor(async () => (await api('/api/dead-letters')).dead_letters
      .find((d) => d.body.includes('dead-marker')), 'the dead letter');
    assert.equal(dead.source, 'delivery');
    assert.equal(dead.reason, 'errcode 93000: invalid webhook url');
    const delivery = (await api('/api/deliveries?state=dead')).deliveries.find((d) => d.id === dead.delivery_id);
    assert.equal(delivery.attempts, 1);
    const replay = await worker.admin(`/api/dead-letters/${dead.id}/replay`, { method: 'POST' });
    assert.equal(replay.status, 202);
    await waitFor(async () => robotMentions('dead-marker') === 2, 'the replayed call');
    await waitFor(async () => (await api('/api/deliveries?state=delivered')).deliveries.some((d) => d.id === dead.delivery_id), 'delivered after replay');
  });

  test('a token refused with 40001 is refreshed once and the call succeeds', async () => {
    onlineList = { kf_online_list: [
      { kf_account: 'anna@gh_test', status: 1, kf_id: '1001', accepted_case: 5, auto_accept: 5 },
      { kf_account: 'bob@gh_test', status: 1, kf_id: '1002', accepted_case: 1, auto_accept: 5 },
    ] };
    await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify({ routes: [{ keywords: ['refund'], kf_accounts: ['anna@gh_test', 'bob@gh_test'] }] }) });
    const cron = async () => assert.equal((await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`)).status, 200);
    await cron();
    assert.equal(wechat.calls('/cgi-bin/stable_token').length, 1);
    const first = wechat.calls('/cgi-bin/customservice/getonlinekflist');
    assert.equal(first.length, 1);
    assert.equal(first[0].query.access_token, 'T1');
    expired.add('T1'); // the token dies mid-run
    await cron();
    assert.equal(wechat.calls('/cgi-bin/stable_token').length, 2, 'exactly one refresh');
    assert.deepEqual(wechat.calls('/cgi-bin/stable_token').map((c) => c.json.force_refresh), [false, true], 'the refresh after 40001 forces a new token');
    assert.equal(wechat.calls('/cgi-bin/token').length, 0, 'the classic endpoint, which invalidates other services\' tokens, is not used');
    const calls = wechat.calls('/cgi-bin/customservice/getonlinekflist');
    assert.deepEqual(calls.map((c) => c.query.access_token), ['T1', 'T1', 'T2'], 'one retry with the new token');
    await cron();
    assert.equal(wechat.calls('/cgi-bin/stable_token').length, 2, 'the refreshed token is cached');
    const reply = await (await post(textFrom(`oRoute${msgId()}`, 'refund please'))).text();
    assert.match(reply, /<KfAccount><!\[CDATA\[bob@gh_test\]\]><\/KfAccount>/, 'routed to the agent with free capacity');
    await worker.admin('/api/rules', { method: 'PUT', body: '{}' });
  });
});

describe('usage on the log lines', () => {
  // What bench/cost.sh prices: the counts come from the bindings' own answers (D1's meta, the
  // queue send), which the shell reads straight from the runtime's objects.
  const lines = (kind) => worker.log.split('\n')
    .filter((l) => l.includes(`"log":"${kind}"`))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))));
  test('a stored message counts the D1 rows it wrote, its push the queue send, a list the rows it read', async () => {
    const openid = `oUsage${msgId()}`;
    assert.equal((await post(textFrom(openid, 'usage-marker'))).status, 200);
    await waitFor(async () => (await ticketsOf(openid)).length === 1, 'the ticket');
    const pushes = lines('request').filter((l) => l.route === '/wechat/oa' && l.event?.startsWith('oa_message text'));
    assert.ok(pushes.length > 0, worker.log.slice(-2000));
    assert.ok(pushes.every((l) => l.usage.queue_messages === 1), JSON.stringify(pushes));
    const stored = lines('queue').filter((l) => l.ok && l.report?.startsWith('stored oa_message text'));
    assert.ok(stored.length > 0, worker.log.slice(-2000));
    assert.ok(stored.every((l) => l.usage.d1_statements > 0 && l.usage.d1_rows_written > 0), JSON.stringify(stored));
    const reads = lines('request').filter((l) => l.route.startsWith('/api/') && l.usage.d1_statements > 0);
    assert.ok(reads.some((l) => l.usage.d1_rows_read > 0), JSON.stringify(reads.slice(-3)));
  });
});

describe('robot rate limit', () => {
  test('45 alerts in a burst reach the robot in at most 20 requests a minute, all contained', async () => {
    const start = robot.requests.length;
    const markers = Array.from({ length: 45 }, (_, i) => `burst-${i}-${msgId()}`);
    await Promise.all(markers.map((m, i) => post(textFrom(`oBurst${i}x${msgId()}`, m))));
    await waitFor(async () => markers.every((m) => robotTexts().some((c) => c.includes(m))), 'all 45 alerts delivered', 120_000);
    const burst = robot.requests.slice(start);
    for (const m of markers) assert.equal(burst.filter((r) => r.json.markdown.content.includes(m)).length, 1, m);
    for (const r of robot.requests) {
      const inWindow = robot.requests.filter((o) => o.at >= r.at && o.at < r.at + 60_000).length;
      assert.ok(inWindow <= 20, `${inWindow} robot requests within a minute`);
      assert.ok(Buffer.byteLength(r.json.markdown.content) <= 4096);
    }
    assert.ok(burst.length < 45, `coalesced into ${burst.length} messages`);
  });
});
