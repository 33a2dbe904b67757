// /wechat/shop end to end: the Worker in wrangler dev, driven as the WeChat Shop's message push
// would drive it (seed 001: event commkf_send_msg_to_kf, JSON or XML, plain or safe mode).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SECRETS, startWorker, urlVerificationTests } from './harness.mjs';
import {
  cdata, encrypt, jsonWithBigInts, msgId, nonce, now, plainQuery, safePush, sealedEnvelope,
} from './wechat-client.mjs';

const { SHOP_TOKEN: TOKEN, SHOP_AES_KEY: AES, SHOP_APPID: APPID } = SECRETS;
const SHOP = 'gh_shop_e2e';
const COS = (type) => `https://channels.weixin.qq.com/shop/commkf/downloadmedia?encrypted_param=enc${type}&timestamp=1730361600&openid=oBuyer&msg_type=${type}`;
let worker;

before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

const post = (query, body) => fetch(`${worker.url}/wechat/shop?${query}`, { method: 'POST', body });

// The fields of one push; `fields` are the message's own (msg_id, msg_type, its object).
const pushFields = (fields, { openid = 'oBuyer_' + nonce(), createTime = now(), event = 'commkf_send_msg_to_kf' } = {}) =>
  ({ ToUserName: SHOP, FromUserName: openid, CreateTime: createTime, MsgType: 'event', Event: event, ...fields });

// The push in the shop's data format: JSON (bigints as exact numbers) or XML.
const encode = (fields, format) => (format === 'json' ? jsonWithBigInts(fields) : cdata(fields));

// The query and body of a push, plain (signature) or in safe mode (msg_signature, AES), with the
// envelope in the same format as the data.
function signed(plaintext, { format, mode }) {
  if (mode === 'plain') return { query: plainQuery(TOKEN), body: plaintext };
  return safePush(TOKEN, AES, APPID, plaintext, { envelope: format });
}

// A message push of this msg_type carrying its object (e.g. `{ text: { content } }`).
const message = (type, object, id = msgId(), opts) => pushFields({ msg_id: id, msg_type: type, ...object }, opts);
const text = (content, id = msgId(), opts) => message('text', { text: { content } }, id, opts);

// Sends the push in this format and mode and checks the inline answer: 200 text/plain `success`.
async function push(fields, { format, mode }, what = `${format} ${mode}`) {
  const { query, body } = signed(encode(fields, format), { format, mode });
  const r = await post(query, body);
  assert.equal(r.status, 200, what);
  assert.match(r.headers.get('content-type'), /^text\/plain/, what);
  assert.equal(await r.text(), 'success', what);
}

const api = async (p) => (await worker.admin(p)).json();

// Every ticket of this customer on any channel, each as {ticket, timeline}.
async function ticketsOf(openid) {
  const { tickets } = await api('/api/tickets?limit=1000');
  return Promise.all(tickets.filter((t) => t.customer_id === openid).map((t) => api(`/api/tickets/${t.id}`)));
}

// The buyer has exactly one ticket, on channel `shop`, opened by the first message, linked to
// `orderId`, whose timeline is exactly these messages ({id, text}) in order, once each.
async function assertShopTicket(openid, messages, { orderId = null, what = openid } = {}) {
  const tickets = await ticketsOf(openid);
  assert.equal(tickets.length, 1, `${what}: one ticket`);
  const [{ ticket, timeline }] = tickets;
  assert.equal(ticket.channel, 'shop', what);
  assert.equal(ticket.status, 'open', what);
  assert.equal(ticket.opened_by, `shop:msg:${messages[0].id}`, what);
  assert.equal(ticket.order_id, orderId, what);
  assert.deepEqual(
    timeline.map(({ kind, actor, body, event_key: eventKey }) => ({ kind, actor, body, eventKey })),
    messages.map(({ id, text: body }) => ({ kind: 'inbound', actor: openid, body, eventKey: `shop:msg:${id}` })),
    what,
  );
}

async function sendSentinel() {
  const id = msgId();
  const r = await post(plainQuery(TOKEN), encode(text('sentinel', id), 'json'));
  assert.equal(r.status, 200);
  return `shop:msg:${id}`;
}

// Every message type: the message's own fields (IDs as bigints: exact JSON numbers), the typed
// body the stored event must carry and the text of its ticket-timeline entry. The shared order
// (`body.order_id`) is linked to the ticket. An unknown type is kept raw: its body also carries
// the whole push (`raw`), checked apart.
const ORDER_ID = '3726522260112345678';
const MESSAGE_TYPES = [
  ['text', { text: { content: '这个什么时候发货? <b>&</b>' } }, { msg_type: 'text', content: '这个什么时候发货? <b>&</b>' },
    '这个什么时候发货? <b>&</b>'],
  ['image', { image: { cos_url: COS(2) } }, { msg_type: 'image', cos_url: COS(2) }, `[image] ${COS(2)}`],
  ['video', { video: { play_length: 3224, cos_url: COS(7), ld_img_url: COS(2) } },
    { msg_type: 'video', play_length: 3224, cos_url: COS(7), ld_img_url: COS(2) }, `[video 3224s] ${COS(7)}`],
  ['file', { file: { cos_url: COS(8) } }, { msg_type: 'file', cos_url: COS(8) }, `[file] ${COS(8)}`],
  ['voice', { voice: { translated_msg: '您好,问一下这个商品如何下单', play_length: 2287, translation_succ: true } },
    { msg_type: 'voice', translated_msg: '您好,问一下这个商品如何下单', play_length_ms: 2287, translation_succ: true },
    '[voice] 您好,问一下这个商品如何下单'],
  ['voice', { voice: { play_length: 1500, translation_succ: false } },
    { msg_type: 'voice', translated_msg: null, play_length_ms: 1500, translation_succ: false }, '[voice] (no translation)'],
  ['product_share', { product_share: { product_id: 10000180459876543n } },
    { msg_type: 'product_share', product_id: '10000180459876543' }, '[product] 10000180459876543'],
  ['order_share', { order_share: { order_id: BigInt(ORDER_ID) } },
    { msg_type: 'order_share', order_id: ORDER_ID }, `[order] ${ORDER_ID}`],
  ['sticker', { sticker: { sticker_id: 'st_42', name: '👍' } },
    { msg_type: 'other', raw_msg_type: 'sticker' }, '[sticker] (unsupported message type)'],
];

describe('URL verification (GET)', () => {
  urlVerificationTests('/wechat/shop', { token: TOKEN, aesKey: AES, appid: APPID }, () => worker);

  test('refuses the Official Account token', async () => {
    assert.equal((await fetch(`${worker.url}/wechat/shop?${plainQuery(SECRETS.WECHAT_TOKEN)}&echostr=x`)).status, 403);
  });
});

describe('messages', () => {
  test('every type, in JSON and XML, plain and encrypted: success, one typed stored event, one ticket with one timeline entry', async () => {
    const sent = [];
    for (const format of ['json', 'xml']) {
      for (const mode of ['plain', 'aes']) {
        for (const [i, [type, object, body, timeline]] of MESSAGE_TYPES.entries()) {
          const id = msgId();
          // A distinct buyer per message: each opens a ticket of its own.
          const openid = `oBuyer_${format}_${mode}_${i}_${nonce()}`;
          // JSON sends the 64-bit msg_id as a number half of the time, as a string otherwise.
          const fields = message(type, object, format === 'json' && mode === 'plain' ? BigInt(id) : id, { openid });
          const what = `${type} #${i} ${format} ${mode}`;
          await push(fields, { format, mode }, what);
          sent.push({ what, id, openid, createTime: fields.CreateTime, type, object, body, timeline });
        }
      }
    }
    for (const { what, id, openid, createTime, type, object, body, timeline } of sent) {
      const stored = await worker.storedWith(`shop:msg:${id}`);
      assert.equal(stored.length, 1, what);
      assert.equal(stored[0].kind, 'shop_message', what);
      const payload = JSON.parse(stored[0].payload);
      if (body.msg_type === 'other') {
        assert.deepEqual(payload.body.raw[type], object[type], what);
        delete payload.body.raw;
      }
      assert.deepEqual(payload, { kind: 'shop_message', shop: SHOP, openid, create_time: createTime, msg_id: id, body }, what);
      await assertShopTicket(openid, [{ id, text: timeline }], { orderId: body.order_id ?? null, what });
    }
  });

  test('several messages from one buyer append to one ticket, in order', async () => {
    const openid = `oBuyerConversation_${nonce()}`;
    const sent = [];
    for (const [i, [type, object, , timeline]] of MESSAGE_TYPES.entries()) {
      const id = msgId();
      const [format, mode] = [['json', 'plain'], ['xml', 'aes'], ['json', 'aes'], ['xml', 'plain']][i % 4];
      await push(message(type, object, id, { openid }), { format, mode }, `${type} #${i}`);
      sent.push({ id, text: timeline });
    }
    // The queue delivers in order: once the last is stored, so are the others.
    await worker.storedWith(`shop:msg:${sent.at(-1).id}`);
    // The order shared mid-conversation is linked to the ticket the first message opened.
    await assertShopTicket(openid, sent, { orderId: ORDER_ID });
  });

  test('IDs above 2^53 stay exact strings', async () => {
    const id = '18446744073709551615';
    const fields = pushFields({ msg_id: BigInt(id), msg_type: 'order_share', order_share: { order_id: 9007199254740993n } });
    assert.equal(jsonWithBigInts(fields).includes('"order_id":9007199254740993'), true);
    assert.equal((await post(plainQuery(TOKEN), jsonWithBigInts(fields))).status, 200);
    const [stored] = await worker.storedWith(`shop:msg:${id}`);
    const payload = JSON.parse(stored.payload);
    assert.equal(payload.msg_id, id);
    assert.deepEqual(payload.body, { msg_type: 'order_share', order_id: '9007199254740993' });
    await assertShopTicket(fields.FromUserName, [{ id, text: '[order] 9007199254740993' }], { orderId: '9007199254740993' });
  });

  test('an unknown message type is accepted and kept raw', async () => {
    for (const format of ['json', 'xml']) {
      const id = msgId();
      const fields = pushFields({ msg_id: id, msg_type: 'sticker', sticker: { sticker_id: 'st_42', name: '👍' } });
      const { query, body } = signed(encode(fields, format), { format, mode: 'aes' });
      const r = await post(query, body);
      assert.equal(r.status, 200, format);
      assert.equal(await r.text(), 'success', format);
      const [stored] = await worker.storedWith(`shop:msg:${id}`);
      const payload = JSON.parse(stored.payload);
      assert.equal(payload.kind, 'shop_message', format);
      assert.equal(payload.msg_id, id, format);
      assert.equal(payload.body.msg_type, 'other', format);
      assert.equal(payload.body.raw_msg_type, 'sticker', format);
      assert.deepEqual(payload.body.raw.sticker, { sticker_id: 'st_42', name: '👍' }, format);
      assert.equal(payload.body.raw.FromUserName, fields.FromUserName, format);
    }
  });

  test('another event is acknowledged and kept as received', async () => {
    const fields = pushFields({ order_id: '3726522260112345678' }, { event: 'channels_ec_order_cancel', openid: 'oBuyerEvent' });
    const r = await post(plainQuery(TOKEN), encode(fields, 'json'));
    assert.equal(await r.text(), 'success');
    const [stored] = await worker.storedWith(`shop:event:oBuyerEvent:${fields.CreateTime}:channels_ec_order_cancel`);
    const payload = JSON.parse(stored.payload);
    assert.equal(payload.kind, 'shop_event');
    assert.equal(payload.event, 'channels_ec_order_cancel');
    assert.deepEqual(payload.raw, fields);
    assert.deepEqual(await ticketsOf('oBuyerEvent'), [], 'no ticket for an event');
  });
});

describe('retries: the push is retried 10 times over about 3.5 h', () => {
  for (const [name, sendAll] of [
    ['sequentially', async (sends) => { const out = []; for (const send of sends) out.push(await send()); return out; }],
    ['concurrently', (sends) => Promise.all(sends.map((send) => send()))],
  ]) {
    test(`the same msg_id pushed 10 times ${name}, encrypted, is stored once: one ticket, one timeline entry`, async () => {
      const id = msgId();
      const openid = `oBuyerRetry_${nonce()}`;
      const fields = text(`retry ${name}`, id, { openid });
      // Each retry is signed and encrypted afresh, as WeChat does; the data format alternates.
      const sends = Array.from({ length: 10 }, (_, i) => () => push(fields, { format: i % 2 ? 'json' : 'xml', mode: 'aes' }, `retry ${i}`));
      await sendAll(sends);
      await worker.storedWith(`shop:msg:${id}`);
      // After a later push has been stored, every retry has been through the consumer.
      await worker.storedWith(await sendSentinel());
      assert.equal((await worker.events()).filter((e) => e.dedup_key === `shop:msg:${id}`).length, 1);
      await assertShopTicket(openid, [{ id, text: `retry ${name}` }]);
    });
  }
});

describe('bad input gets a specific 4xx and nothing is enqueued', () => {
  const cases = () => {
    const ts = now();
    const q = plainQuery(TOKEN, { timestamp: ts });
    const json = (fields = text('x')) => encode(fields, 'json');
    const xml = (fields = text('x')) => encode(fields, 'xml');
    const good = safePush(TOKEN, AES, APPID, json(), { envelope: 'json' });
    const wrongAppid = sealedEnvelope(TOKEN, encrypt(AES, 'wx0000000000000000', json()), { envelope: 'json' });
    const badPadding = sealedEnvelope(TOKEN, encrypt(AES, APPID, json(), { pad: 0 }), { envelope: 'json' });
    const badBase64 = sealedEnvelope(TOKEN, '!!!not-base64!!!', { envelope: 'json' });
    const badInner = safePush(TOKEN, AES, APPID, '{"ToUserName":', { envelope: 'json' });
    const stale = safePush(TOKEN, AES, APPID, json(), { timestamp: ts - 3600 });
    return [
      ['missing signature', `timestamp=${ts}&nonce=1`, json(), 400, /signature/],
      ['wrong signature', `signature=${'a'.repeat(40)}&timestamp=${ts}&nonce=1`, json(), 403, /signature mismatch/],
      ['signed with the Official Account token', plainQuery(SECRETS.WECHAT_TOKEN), json(), 403, /signature mismatch/],
      ['wrong msg_signature', good.query.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'b'.repeat(40)}`), good.body, 403, /msg_signature/],
      ['stale timestamp', plainQuery(TOKEN, { timestamp: ts - 301 - 60 }), json(), 403, /timestamp/],
      ['future timestamp', plainQuery(TOKEN, { timestamp: ts + 3600 }), json(), 403, /timestamp/],
      ['stale timestamp in safe mode', stale.query, stale.body, 403, /timestamp/],
      ['malformed JSON', q, '{"ToUserName":"gh",}', 400, /JSON/],
      ['truncated JSON', q, json().slice(0, 60), 400, /JSON/],
      ['malformed JSON envelope', good.query, good.body.slice(0, -2), 400, /JSON/],
      ['malformed JSON inside a valid envelope', badInner.query, badInner.body, 400, /JSON/],
      ['malformed XML', q, '<xml><ToUserName>gh</FromUserName></xml>', 400, /XML/],
      ['truncated XML', q, xml().slice(0, 60), 400, /XML/],
      ['DOCTYPE with entities', q, '<!DOCTYPE xml [<!ENTITY a "b">]>' + xml(text('&a;')), 400, /DOCTYPE/],
      ['invalid UTF-8', q, Buffer.concat([Buffer.from('{"ToUserName":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), 400, /UTF-8/],
      ['body over 64 KiB', q, json(text('x'.repeat(65 * 1024))), 413, /exceeds/],
      ['missing msg_id', q, json(pushFields({ msg_type: 'text', text: { content: 'x' } })), 400, /msg_id/],
      ['missing FromUserName', q, jsonWithBigInts({ ...text('x'), FromUserName: undefined }), 400, /FromUserName/],
      ['ID that a JSON number cannot hold', q, json(text('x', 18446744073709551616n)), 400, /msg_id/],
      ['wrong AppID after decryption', wrongAppid.query, wrongAppid.body, 403, /AppID/],
      ['bad padding', badPadding.query, badPadding.body, 400, /padding/],
      ['bad base64', badBase64.query, badBase64.body, 400, /base64/],
      ['unknown encrypt_type', q + '&encrypt_type=rot13', json(), 400, /encrypt_type/],
    ];
  };

  test('each case answers its status with a short reason', async () => {
    await worker.assertNothingEnqueuedBy(sendSentinel, () => worker.expectRejections('/wechat/shop', cases()));
  });
});

describe('a Worker without SHOP_TOKEN', () => {
  let bare;
  before(async () => { bare = await startWorker({ SHOP_TOKEN: undefined }); });
  after(async () => { await bare?.stop(); });

  test('answers /wechat/shop with 500 naming SHOP_TOKEN, while /wechat/oa still works', async () => {
    for (let i = 0; i < 3; i++) {
      for (const r of [
        await fetch(`${bare.url}/wechat/shop?${plainQuery(TOKEN)}&echostr=x`),
        await fetch(`${bare.url}/wechat/shop?${plainQuery(TOKEN)}`, { method: 'POST', body: encode(text('x'), 'json') }),
      ]) {
        assert.equal(r.status, 500);
        const body = await r.text();
        assert.deepEqual(JSON.parse(body), { error: 'missing setting SHOP_TOKEN', code: 'missing_setting' });
        for (const secret of Object.values(SECRETS)) assert.equal(body.includes(secret), false);
      }
    }
    const oaToken = SECRETS.WECHAT_TOKEN;
    const echo = await fetch(`${bare.url}/wechat/oa?${plainQuery(oaToken)}&echostr=still-here`);
    assert.equal(echo.status, 200);
    assert.equal(await echo.text(), 'still-here');
    const id = msgId();
    const message = cdata({ ToUserName: 'gh_test', FromUserName: 'oUser', CreateTime: now(), MsgType: 'text', Content: 'hi', MsgId: id });
    assert.equal((await fetch(`${bare.url}/wechat/oa?${plainQuery(oaToken)}`, { method: 'POST', body: message })).status, 200);
    await bare.storedWith(`oa:msg:${id}`);
    // Logged once per isolate, not once per request.
    assert.equal(bare.log.split('missing setting SHOP_TOKEN').length - 1, 1, bare.log);
  });
});
