// Zalo OA end to end: the Worker in wrangler dev, a mock Zalo on 127.0.0.1 (OAuth v4 refresh and
// v3.0/oa/message/cs) and a mock CareSoft. Webhook events are signed as Zalo signs them:
// X-ZEvent-Signature: mac=hex(sha256(app_id + body + timestamp + OA secret key)).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SECRETS, sleep, startMock, startWorker, waitFor } from './harness.mjs';

const { ZALO_APP_ID: APP_ID, ZALO_OA_SECRET_KEY: OA_SECRET_KEY, ZALO_APP_SECRET: APP_SECRET } = SECRETS;

let worker; let zalo; let caresoft; let robot;
let pairs = 0;

before(async () => {
  zalo = await startMock('zalo', (req) => {
    if (req.path === '/v4/oa/access_token') {
      pairs += 1;
      return { json: { access_token: `AT-${pairs}`, refresh_token: `RT-${pairs + 1}`, expires_in: '90000' } };
    }
    return { json: { error: 0, message: 'Success', data: { message_id: `zmsg-${zalo.requests.length}` } } };
  });
  caresoft = await startMock('caresoft', () => ({ json: { status: 'OK', ticket: { ticketId: '1' } } }));
  robot = await startMock('robot');
  worker = await startWorker({
    ZALO_API_BASE: zalo.url,
    ZALO_OAUTH_BASE: zalo.url,
    CARESOFT_BASE_URL: `${caresoft.url}/demo`,
    WECOM_API_BASE: robot.url,
  });
});
after(async () => { await worker?.stop(); await zalo?.close(); await caresoft?.close(); await robot?.close(); });

const mac = (body, timestamp) => crypto.createHash('sha256').update(APP_ID + body + timestamp + OA_SECRET_KEY).digest('hex');

function post(body, signature) {
  const headers = { 'content-type': 'application/json' };
  if (signature !== undefined) headers['x-zevent-signature'] = signature;
  return fetch(`${worker.url}/zalo/oa`, { method: 'POST', body, headers });
}

// A webhook event as Zalo sends it, signed; `at` in milliseconds.
function send(event, at = Date.now()) {
  const body = JSON.stringify({ app_id: APP_ID, timestamp: String(at), ...event });
  return post(body, `mac=${mac(body, String(at))}`);
}

let serial = 0;
const userMessage = (user, text, msgId = `msg-${Date.now()}-${serial++}`) =>
  ({ event_name: 'user_send_text', sender: { id: user }, recipient: { id: 'OA1' }, message: { msg_id: msgId, text } });

const api = async (p) => (await worker.admin(p)).json();
const ticketOf = (user) => waitFor(async () => {
  const { tickets } = await api('/api/tickets?channel=zalo&limit=1000');
  return tickets.find((t) => t.customer_id === user);
}, `the ticket of ${user}`);
const deliveryState = async (id) => (await api('/api/deliveries?limit=1000')).deliveries.find((d) => d.id === id)?.state;
const reply = async (ticket, text) => {
  const r = await worker.admin(`/api/tickets/${ticket}/reply`, { method: 'POST', body: JSON.stringify({ text }) });
  assert.equal(r.status, 202);
  return r.json();
};
const csCalls = () => zalo.calls('/v3.0/oa/message/cs');
const refreshes = () => zalo.calls('/v4/oa/access_token');

describe('Zalo OA webhook', () => {
  test('a signed event is answered 200 at once and stored', async () => {
    const r = await send(userMessage('u-hello', 'Xin chào', 'msg-hello'));
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {});
    await worker.storedWith('zalo:msg:msg-hello');
  });

  test('bad input gets 400, 401 or 413 and nothing is stored', async () => {
    const at = String(Date.now());
    const good = JSON.stringify({ app_id: APP_ID, timestamp: at, ...userMessage('u-bad', 'x', 'msg-never') });
    const stale = String(Date.now() - 3_600_000);
    const staleBody = JSON.stringify({ app_id: APP_ID, timestamp: stale, ...userMessage('u-bad', 'x', 'msg-never') });
    const foreignBody = JSON.stringify({ app_id: '42', timestamp: at, ...userMessage('u-bad', 'x', 'msg-never') });
    const cases = [
      ['no signature', good, undefined, 401],
      ['a wrong mac', good, `mac=${'0'.repeat(64)}`, 401],
      ['a mac over another body', good.replace('"x"', '"y"'), `mac=${mac(good, at)}`, 401],
      ['a stale timestamp', staleBody, `mac=${mac(staleBody, stale)}`, 401],
      ['another app', foreignBody, `mac=${mac(foreignBody, at)}`, 401],
      ['malformed JSON', '{"app_id":', `mac=${mac('{"app_id":', at)}`, 400],
      ['over 64 KiB', JSON.stringify({ pad: 'x'.repeat(70_000) }), `mac=${'0'.repeat(64)}`, 413],
    ];
    await worker.assertNothingEnqueuedBy(
      async () => { const id = `msg-sentinel-${serial++}`; assert.equal((await send(userMessage('u-s', 's', id))).status, 200); return `zalo:msg:${id}`; },
      async () => {
        for (const [name, body, signature, status] of cases) {
          const r = await post(body, signature);
          assert.equal(r.status, status, name);
          const answer = await r.json();
          assert.ok(answer.error, name);
          assert.ok(!JSON.stringify(answer).includes(OA_SECRET_KEY), name);
        }
      },
    );
  });

  test('a storm of one msg_id gives one event and one ticket', async () => {
    const event = userMessage('u-storm', 'Đơn hàng của tôi chưa tới', 'msg-storm');
    const answers = await Promise.all(Array.from({ length: 8 }, () => send(event)));
    assert.ok(answers.every((r) => r.status === 200));
    await worker.storedWith('zalo:msg:msg-storm');
    await sleep(1500);
    assert.equal((await worker.events()).filter((e) => e.dedup_key === 'zalo:msg:msg-storm').length, 1);
    const { tickets } = await api('/api/tickets?channel=zalo&limit=1000');
    assert.equal(tickets.filter((t) => t.customer_id === 'u-storm').length, 1);
    const view = await api(`/api/tickets/${(await ticketOf('u-storm')).id}`);
    assert.deepEqual(view.timeline.map((l) => l.body), ['Đơn hàng của tôi chưa tới']);
    assert.equal(view.reach.channel, 'zalo');
    assert.equal(view.reach.window.free_replies_left, 8);
  });
});

describe('Zalo OA replies', () => {
  test('the owner sets the refresh token; an agent reply gives one refresh and one send', async () => {
    const put = await worker.admin('/api/zalo/token', { method: 'PUT', body: JSON.stringify({ refresh_token: 'RT-1' }) });
    assert.equal(put.status, 200);
    assert.ok(!(await put.text()).includes('RT-1'));
    await send(userMessage('u-reply', 'Cho tôi hỏi'));
    const ticket = await ticketOf('u-reply');
    const { delivery, channel } = await reply(ticket.id, 'Chào bạn!');
    assert.equal(channel, 'zalo');
    await waitFor(async () => (await deliveryState(delivery)) === 'delivered', 'the reply delivered');
    assert.equal(refreshes().length, 1);
    const [refresh] = refreshes();
    assert.equal(refresh.headers.secret_key, APP_SECRET);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(refresh.body)), { refresh_token: 'RT-1', app_id: APP_ID, grant_type: 'refresh_token' });
    const sends = csCalls().filter((c) => c.json?.recipient?.user_id === 'u-reply');
    assert.equal(sends.length, 1);
    assert.equal(sends[0].headers.access_token, 'AT-1');
    assert.deepEqual(sends[0].json, { recipient: { user_id: 'u-reply' }, message: { text: 'Chào bạn!' } });
  });

  test('an expired token gives one refresh, then the send', async () => {
    await send(userMessage('u-expired', 'Alo'));
    const ticket = await ticketOf('u-expired');
    const before = refreshes().length;
    zalo.failNext(1, 200, { error: -216, message: 'Access token is invalid' });
    const { delivery } = await reply(ticket.id, 'Chúng tôi đang kiểm tra');
    await waitFor(async () => (await deliveryState(delivery)) === 'delivered', 'the reply delivered');
    assert.equal(refreshes().length, before + 1, 'one refresh');
    assert.equal(refreshes().at(-1).body.includes(`refresh_token=RT-${before + 1}`), true, 'with the stored, rotated refresh token');
    const sends = csCalls().filter((c) => c.json?.recipient?.user_id === 'u-expired');
    assert.deepEqual(sends.map((c) => c.headers.access_token), [`AT-${before}`, `AT-${before + 1}`]);
    const view = await api(`/api/tickets/${ticket.id}`);
    assert.equal(view.reach.window.free_replies_left, 7);
  });

  test('a closed window gives the ZNS fallback to the phone the customer shared', async () => {
    const rules = { zns_fallback: { template_id: 367, params: { message: '{text}' } } };
    assert.equal((await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify(rules) })).status, 200);
    await send({ event_name: 'user_submit_info', sender: { id: 'u-closed' }, recipient: { id: 'OA1' }, info: { name: 'Hà', phone: '0983123148' } });
    const ticket = await ticketOf('u-closed');
    await waitFor(async () => (await api(`/api/tickets/${ticket.id}`)).ticket.customer_phone === '0983123148', 'the phone on the ticket');
    zalo.failNext(1, 200, { error: -230, message: 'User has not interacted with the OA in the past 7 days' });
    const { delivery } = await reply(ticket.id, 'Đơn của bạn đã được giao');
    await waitFor(async () => (await deliveryState(`${delivery}:zns`)) === 'delivered', 'the ZNS fallback delivered');
    const zns = caresoft.calls('/demo/api/v1/zalo/zns');
    assert.equal(zns.length, 1);
    assert.deepEqual(zns[0].json.zns.phone, '0983123148');
    assert.deepEqual(zns[0].json.zns.params, { message: 'Đơn của bạn đã được giao' });
    assert.equal(await deliveryState(delivery), 'dead');
  });
});
