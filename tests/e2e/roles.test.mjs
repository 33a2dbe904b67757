// Staff roles and idempotent actions end to end: the built Worker in wrangler dev with an agent,
// a lead and the owner, a mock WeChat API and a mock CareSoft on 127.0.0.1. Every admin route for
// every role (and for no valid token), an unauthenticated 1 MiB POST refused before its body is
// read, a reply with an Idempotency-Key sent once (another body 422, an empty key no key), and
// percent-decoded order ids.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { SECRETS, sleep, startMock, startWorker, waitFor } from './harness.mjs';
import { cdata, msgId, now, safePush } from './wechat-client.mjs';

const AGENT = 'e2e-agent-token';
const LEAD = 'e2e-lead-token';
let worker; let wechat; let caresoft; let robot;

before(async () => {
  wechat = await startMock('wechat', (req) => (req.path === '/cgi-bin/stable_token'
    ? { json: { access_token: 'T', expires_in: 7200 } }
    : { json: { errcode: 0, errmsg: 'ok' } }));
  caresoft = await startMock('caresoft', () => ({ json: { status: 'OK', ticket: { ticketId: '1' } } }));
  robot = await startMock('robot');
  worker = await startWorker({
    WECHAT_API_BASE: wechat.url, WECOM_API_BASE: robot.url, CARESOFT_BASE_URL: `${caresoft.url}/demo`,
    STAFF_TOKENS: `anna:${AGENT},lea:${LEAD}:lead:wecom=LeaW`,
  });
});
after(async () => { await worker?.stop(); await wechat?.close(); await caresoft?.close(); await robot?.close(); });

const call = (token, method, p, body, headers = {}) => fetch(`${worker.url}${p}`, {
  method,
  headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', ...headers },
  body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
});

// A customer writes to the Official Account (safe mode, as WeChat pushes): their ticket.
async function customerWrites(openid, content) {
  const xml = cdata({ ToUserName: 'gh_shop', FromUserName: openid, CreateTime: now(), MsgType: 'text', Content: content, MsgId: msgId() });
  const { query, body } = safePush(SECRETS.WECHAT_TOKEN, SECRETS.WECHAT_AES_KEY, SECRETS.WECHAT_APPID, xml);
  const r = await fetch(`${worker.url}/wechat/oa?${query}`, { method: 'POST', body });
  assert.equal(r.status, 200);
  return waitFor(async () => {
    const { tickets } = await (await worker.admin('/api/tickets?limit=1000')).json();
    return tickets.find((t) => t.customer_id === openid);
  }, `the ticket of ${openid}`);
}

test('every admin route answers each role as the table says, and refuses before doing anything', async () => {
  const ticket = await customerWrites('oRoles', 'hello');
  const routes = [
    ['GET', '/api/me', undefined, 'agent'],
    ['GET', '/api/rules', undefined, 'agent'],
    ['PUT', '/api/rules', { faq: [], routes: [] }, 'owner'],
    ['GET', '/api/tickets', undefined, 'agent'],
    ['GET', `/api/tickets/${ticket.id}`, undefined, 'agent'],
    ['GET', `/api/tickets/${ticket.id}/media/1`, undefined, 'agent'],
    ['POST', `/api/tickets/${ticket.id}/assign`, { assignee: 'anna' }, 'agent'],
    ['POST', `/api/tickets/${ticket.id}/reply`, { text: 'hi' }, 'agent'],
    ['POST', `/api/tickets/${ticket.id}/zns`, { template_id: 7 }, 'agent'],
    ['GET', '/api/orders', undefined, 'agent'],
    ['GET', '/api/orders/O1', undefined, 'agent'],
    ['PUT', '/api/orders/O1', { status: 'paid' }, 'lead'],
    ['GET', '/api/complaints', undefined, 'agent'],
    ['POST', '/api/complaints/F1/resolve', {}, 'lead'],
    ['GET', '/api/stats', undefined, 'agent'],
    ['GET', '/api/events', undefined, 'lead'],
    ['GET', '/api/deliveries', undefined, 'lead'],
    ['GET', '/api/alerts', undefined, 'lead'],
    ['GET', '/api/dead-letters', undefined, 'lead'],
    ['GET', '/api/parked', undefined, 'lead'],
    ['POST', '/api/dead-letters/999999/replay', undefined, 'lead'],
    ['POST', '/api/parked/replay', undefined, 'lead'],
    ['POST', '/api/zns', { phone: '0983123148', template_id: 366 }, 'lead'],
    ['PUT', '/api/zalo/token', { refresh_token: 'RT-roles' }, 'owner'],
  ];
  const rank = { agent: 0, lead: 1, owner: 2 };
  const callers = [['agent', AGENT], ['lead', LEAD], ['owner', SECRETS.ADMIN_TOKEN], [null, 'wrong-token'], [null, null]];
  for (const [method, p, body, needs] of routes) {
    for (const [role, token] of callers) {
      const r = await call(token, method, p, body);
      const answer = await r.json();
      const what = `${method} ${p} as ${role ?? token}`;
      if (!role) assert.equal(r.status, 401, what);
      else if (rank[role] < rank[needs]) {
        assert.equal(r.status, 403, what);
        assert.equal(answer.code, 'forbidden', what);
        assert.match(answer.error, new RegExp(`needs the ${needs} role$`), what);
      } else assert.ok(![401, 403].includes(r.status), `${what}: ${r.status} ${JSON.stringify(answer)}`);
    }
  }
  const me = async (token) => (await (await call(token, 'GET', '/api/me')).json()).role;
  assert.deepEqual([await me(AGENT), await me(LEAD), await me(SECRETS.ADMIN_TOKEN)], ['agent', 'lead', 'owner']);
  // The 403s changed nothing: the agent's PUT of an order stored no order.
  const refused = await call(AGENT, 'PUT', '/api/orders/ONotMine', { status: 'paid' });
  assert.equal(refused.status, 403);
  assert.equal((await call(LEAD, 'GET', '/api/orders/ONotMine')).status, 404);
});

test('an unauthenticated 1 MiB POST gets 401 before its body is read', async () => {
  const refusals = () => worker.log.split('/api: 401').length;
  const before = refusals();
  // node:http: 64 KiB of a declared 1 MiB, the rest held back until the Worker has answered.
  const req = http.request(`${worker.url}/api/tickets/1/reply`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(1024 * 1024) },
  });
  const answered = new Promise((resolve) => {
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', () => resolve('reset'));
  });
  req.write(Buffer.alloc(64 * 1024, 0x61));
  await waitFor(() => refusals() > before, 'the Worker refusing it with 401 while the body is still coming');
  req.end(Buffer.alloc(1024 * 1024 - 64 * 1024, 0x61));
  const status = await answered;
  assert.ok(status === 401 || status === 'reset' || status === 503, `${status}`);
});

test('a reply with an Idempotency-Key is sent once; another body is 422; an empty key is no key', async () => {
  const openid = 'oIdempotent';
  const ticket = await customerWrites(openid, 'where is my card?');
  const reply = (text, key) => call(AGENT, 'POST', `/api/tickets/${ticket.id}/reply`, { text }, key === undefined ? {} : { 'idempotency-key': key });
  const sends = () => wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === openid);
  const first = await reply('Đây là mã thẻ của bạn', 'compose-1');
  assert.equal(first.status, 202);
  const a = await first.json();
  assert.equal(a.repeated, false);
  const again = await reply('Đây là mã thẻ của bạn', 'compose-1');
  assert.equal(again.status, 202);
  const b = await again.json();
  assert.deepEqual(b, { ...a, repeated: true });
  await waitFor(() => sends().length === 1, 'the reply sent');
  const other = await reply('Something else', 'compose-1');
  assert.equal(other.status, 422);
  assert.equal((await other.json()).code, 'idempotency_key_reused');
  // The same key on another ticket is another key.
  const elsewhere = await customerWrites('oIdempotent2', 'hi');
  const there = await call(AGENT, 'POST', `/api/tickets/${elsewhere.id}/reply`, { text: 'Đây là mã thẻ của bạn' }, { 'idempotency-key': 'compose-1' });
  assert.equal((await there.json()).repeated, false);
  // An empty header is no key: each is its own reply.
  assert.equal((await reply('one', '')).status, 202);
  assert.equal((await reply('one', '')).status, 202);
  await waitFor(() => sends().length === 3, 'the two replies without a key');
  await sleep(1000);
  assert.equal(sends().filter((c) => c.json.text.content === 'Đây là mã thẻ của bạn').length, 1, 'the keyed reply once');
});

test('order ids in the path are percent-decoded, and PUT never stores the encoded id', async () => {
  for (const [p, id] of [['/api/orders/O%201', 'O 1'], ['/api/orders/A%2FB', 'A/B'], ['/api/orders/%E8%AE%A2%E5%8D%95-7', '订单-7']]) {
    const put = await call(LEAD, 'PUT', p, { status: 'paid', goods_kind: 'virtual' });
    assert.equal(put.status, 200, p);
    assert.deepEqual(await put.json(), { order: id });
    const read = await (await call(AGENT, 'GET', p)).json();
    assert.equal(read.order.id, id);
  }
  const { orders } = await (await call(AGENT, 'GET', '/api/orders?limit=1000')).json();
  const ids = orders.map((o) => o.id);
  for (const id of ['O 1', 'A/B', '订单-7']) assert.ok(ids.includes(id), id);
  for (const encoded of ['O%201', 'A%2FB']) assert.ok(!ids.includes(encoded), encoded);
});
