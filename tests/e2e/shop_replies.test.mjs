// Answering WeChat Shop buyers end to end (issue 26): the Worker in wrangler dev, a buyer's
// messages pushed as the Shop pushes them, and a mock WeChat API that hands out a token per AppID
// (stable_token) and records every commkf/sendmsg with its request_id.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SECRETS, sleep, startMock, startWorker, waitFor } from './harness.mjs';
import { jsonWithBigInts, msgId, nonce, now, plainQuery } from './wechat-client.mjs';

const SHOP_SECRET = 'e2e-shop-appsecret';
const TOKENS = { [SECRETS.SHOP_APPID]: 'SHOP-TOKEN', [SECRETS.WECHAT_APPID]: 'OA-TOKEN' };
let worker; let wechat;
// Buyers whose first sendmsg the mock leaves unanswered (the Worker's fetch times out).
const hangFirstSend = new Set();

before(async () => {
  wechat = await startMock('wechat', (req) => {
    if (req.path === '/cgi-bin/stable_token') {
      const token = TOKENS[req.json?.appid];
      const secretOk = req.json?.secret === (req.json?.appid === SECRETS.SHOP_APPID ? SHOP_SECRET : SECRETS.WECHAT_APPSECRET);
      return token && secretOk ? { json: { access_token: token, expires_in: 7200 } } : { json: { errcode: 40125, errmsg: 'invalid appsecret' } };
    }
    if (req.path === '/channels/ec/commkf/sendmsg') {
      if (req.query.access_token !== 'SHOP-TOKEN') return { json: { errcode: 40001, errmsg: 'invalid credential' } };
      const buyer = req.json?.open_id;
      if (hangFirstSend.delete(buyer)) return { hang: true };
      return { json: { errcode: 0, errmsg: 'ok', msg_id: '3895464567618158592' } };
    }
    return { json: { errcode: 0, errmsg: 'ok' } };
  });
  worker = await startWorker({ WECHAT_API_BASE: wechat.url, SHOP_APPSECRET: SHOP_SECRET });
  const rules = { faq: [{ keywords: ['发货', 'ship'], reply: '付款后 24 小时内发货 We ship within 24 hours' }] };
  assert.equal((await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify(rules) })).status, 200);
});
after(async () => { await worker?.stop(); await wechat?.close(); });

const api = async (p) => (await worker.admin(p)).json();
const sends = (buyer) => wechat.calls('/channels/ec/commkf/sendmsg').filter((c) => c.json?.open_id === buyer);

// A buyer's text, as the Shop pushes it (plain mode, JSON); resolves once it is stored.
async function buyerWrites(buyer, content, id = msgId()) {
  const body = jsonWithBigInts({
    ToUserName: 'gh_shop_e2e', FromUserName: buyer, CreateTime: now(), MsgType: 'event', Event: 'commkf_send_msg_to_kf',
    msg_id: id, msg_type: 'text', text: { content },
  });
  const r = await fetch(`${worker.url}/wechat/shop?${plainQuery(SECRETS.SHOP_TOKEN)}`, { method: 'POST', body });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'success');
  await worker.storedWith(`shop:msg:${id}`);
  return { id, body };
}

async function ticketOf(buyer) {
  const { tickets } = await api('/api/tickets?channel=shop&limit=1000');
  const ticket = tickets.find((t) => t.customer_id === buyer);
  assert.ok(ticket, `a ticket for ${buyer}`);
  return ticket;
}

const reply = (ticketId, body) => worker.admin(`/api/tickets/${ticketId}/reply`, { method: 'POST', body: JSON.stringify(body) });

describe('WeChat Shop replies', () => {
  test('a message with an FAQ keyword is answered by one sendmsg, however often it is pushed', async () => {
    const buyer = `oBuyerFaq_${nonce()}`;
    const { id, body } = await buyerWrites(buyer, '请问什么时候发货?');
    // The platform retries the same push: still one answer.
    await fetch(`${worker.url}/wechat/shop?${plainQuery(SECRETS.SHOP_TOKEN)}`, { method: 'POST', body });
    await waitFor(() => sends(buyer).length === 1, 'the FAQ sendmsg');
    await sleep(1500);
    const [send] = sends(buyer);
    assert.equal(sends(buyer).length, 1);
    assert.deepEqual(send.json, {
      request_id: `shop:msg:${id}:faq`, open_id: buyer, msg_type: 'text',
      text: { content: '付款后 24 小时内发货 We ship within 24 hours' },
    });
    assert.equal(send.query.access_token, 'SHOP-TOKEN');
    // The Shop's token came from stable_token with the Shop's own AppID.
    assert.ok(wechat.calls('/cgi-bin/stable_token').some((c) => c.json.appid === SECRETS.SHOP_APPID));
    // A text without a keyword gets no auto-reply.
    const quiet = `oBuyerQuiet_${nonce()}`;
    await buyerWrites(quiet, '你好');
    await sleep(1500);
    assert.equal(sends(quiet).length, 0);
  });

  test('a dashboard reply goes by one sendmsg with open_id and text, even when the first try times out', async () => {
    const buyer = `oBuyerReply_${nonce()}`;
    await buyerWrites(buyer, '你好,在吗');
    const ticket = await ticketOf(buyer);
    const view = await api(`/api/tickets/${ticket.id}`);
    assert.equal(view.reach.channel, 'wechat_shop');
    assert.equal(view.reach.window.sends_left, 5);
    assert.ok(view.reach.window.open_until > now() + 47 * 3600);
    hangFirstSend.add(buyer);
    const r = await reply(ticket.id, { text: '在的,请问有什么可以帮您?' });
    assert.equal(r.status, 202);
    const answer = await r.json();
    assert.equal(answer.channel, 'wechat_shop');
    const delivered = await waitFor(async () => {
      const { timeline } = await api(`/api/tickets/${ticket.id}`);
      return timeline.find((e) => e.kind === 'outbound' && e.body === 'sent to the customer: 在的,请问有什么可以帮您?');
    }, 'the reply delivered', 120_000);
    assert.ok(delivered);
    // Two attempts (the first timed out), one request_id: the platform carries it once.
    const tries = sends(buyer);
    assert.equal(tries.length, 2);
    assert.deepEqual(new Set(tries.map((t) => t.json.request_id)), new Set([answer.delivery]));
    assert.deepEqual(tries[1].json, { request_id: answer.delivery, open_id: buyer, msg_type: 'text', text: { content: '在的,请问有什么可以帮您?' } });
    const after = await api(`/api/tickets/${ticket.id}`);
    assert.equal(after.reach.window.sends_left, 4);
  });

  test('product and order cards; the sixth reply in a window is refused before sending', async () => {
    const buyer = `oBuyerCards_${nonce()}`;
    await buyerWrites(buyer, '这个订单怎么还没到');
    const ticket = await ticketOf(buyer);
    const bodies = [
      { order_id: '3721712203692901632' },
      { product_id: '10000141308512' },
      { text: 'one' }, { text: 'two' }, { text: 'three' },
    ];
    for (const body of bodies) assert.equal((await reply(ticket.id, body)).status, 202, JSON.stringify(body));
    const sixth = await reply(ticket.id, { text: 'six' });
    assert.equal(sixth.status, 409);
    assert.match((await sixth.json()).error, /messages the window allows are used/);
    await waitFor(() => sends(buyer).length === 5, 'five sendmsg');
    await sleep(1500);
    assert.equal(sends(buyer).length, 5);
    const byType = Object.fromEntries(sends(buyer).map((s) => [s.json.msg_type, s.json]));
    assert.deepEqual(byType.order_share.order_share, { order_id: '3721712203692901632' });
    assert.deepEqual(byType.product_share.product_share, { product_id: '10000141308512' });
    const view = await api(`/api/tickets/${ticket.id}`);
    assert.equal(view.reach.channel, 'none');
    assert.equal(view.reach.reason, 'sends_used_without_fallback');
    assert.equal(view.reach.window.sends_left, 0);
    // The buyer writes again: a new window with five sends.
    await buyerWrites(buyer, '好的');
    assert.equal((await api(`/api/tickets/${ticket.id}`)).reach.window.sends_left, 5);
    assert.equal((await reply(ticket.id, { text: 'again' })).status, 202);
    // A malformed card, or a text and a card at once, is a 400.
    assert.equal((await reply(ticket.id, { order_id: '12ab' })).status, 400);
    assert.equal((await reply(ticket.id, { text: 'x', order_id: '1' })).status, 400);
  });
});

describe('kefu-check --send-test', () => {
  const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  before(() => {
    execFileSync('cargo', ['build', '--release', '--bin', 'kefu-check'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  });

  test('checks a safe-mode Shop message and replies one text to the named buyer', async () => {
    const buyer = `oBuyerCheck_${nonce()}`;
    await buyerWrites(buyer, '在吗');
    const run = spawnSync('cargo', ['run', '--quiet', '--release', '--bin', 'kefu-check', '--',
      '--url', worker.url, '--vars', path.join(worker.dir, '.dev.vars'), '--send-test', buyer],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    const line = (name) => run.stdout.split('\n').find((l) => l.includes(` ${name}: `)) ?? run.stdout + run.stderr;
    assert.match(line('shop: safe-mode message'), /^✓ .*answered success/);
    assert.match(line('shop: send-test reply'), /^✓ .*queued as delivery reply:\S+ by wechat_shop/);
    await waitFor(() => sends(buyer).length === 1, 'the test reply');
    assert.deepEqual(sends(buyer)[0].json.text, { content: 'kefu-check: a test reply from kefu-edge' });
    // A buyer without an open ticket: nothing sent, and the line says why.
    const stranger = spawnSync('cargo', ['run', '--quiet', '--release', '--bin', 'kefu-check', '--',
      '--url', worker.url, '--vars', path.join(worker.dir, '.dev.vars'), '--send-test', 'oNobody'],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.match(stranger.stdout, /✗ shop: send-test reply: no open Shop ticket for oNobody/);
    assert.equal(stranger.status, 1);
  });
});

describe('WeChat Shop replies without SHOP_APPSECRET', () => {
  let bare;
  before(async () => { bare = await startWorker({ WECHAT_API_BASE: wechat.url }); });
  after(async () => { await bare?.stop(); });

  test('the reply is 409 naming SHOP_APPSECRET, and nothing is sent', async () => {
    const buyer = `oBuyerBare_${nonce()}`;
    const id = msgId();
    const body = jsonWithBigInts({
      ToUserName: 'gh_shop_e2e', FromUserName: buyer, CreateTime: now(), MsgType: 'event', Event: 'commkf_send_msg_to_kf',
      msg_id: id, msg_type: 'text', text: { content: 'hi' },
    });
    assert.equal((await fetch(`${bare.url}/wechat/shop?${plainQuery(SECRETS.SHOP_TOKEN)}`, { method: 'POST', body })).status, 200);
    await bare.storedWith(`shop:msg:${id}`);
    const { tickets } = await (await bare.admin('/api/tickets?channel=shop&limit=1000')).json();
    const ticket = tickets.find((t) => t.customer_id === buyer);
    const view = await (await bare.admin(`/api/tickets/${ticket.id}`)).json();
    assert.equal(view.reach.channel, 'none');
    assert.equal(view.reach.setting, 'SHOP_APPSECRET');
    const r = await bare.admin(`/api/tickets/${ticket.id}/reply`, { method: 'POST', body: JSON.stringify({ text: 'hello' }) });
    assert.equal(r.status, 409);
    assert.match((await r.json()).error, /SHOP_APPSECRET/);
    assert.equal(sends(buyer).length, 0);
  });
});
