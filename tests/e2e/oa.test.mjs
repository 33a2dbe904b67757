// /wechat/oa end to end: the Worker in wrangler dev, driven as the WeChat servers would.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SECRETS, startWorker, urlVerificationTests } from './harness.mjs';
import {
  cdata, decrypt, encrypt, msgId, nonce, now, plainQuery, safePush, sealedEnvelope, sha1Signature, xmlField,
} from './wechat-client.mjs';

const { WECHAT_TOKEN: TOKEN, WECHAT_AES_KEY: AES, WECHAT_APPID: APPID } = SECRETS;
let worker;

before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

const post = (query, body) => fetch(`${worker.url}/wechat/oa?${query}`, { method: 'POST', body });
const text = (content, id = msgId(), openid = 'oUser_' + nonce()) =>
  cdata({ ToUserName: 'gh_test', FromUserName: openid, CreateTime: now(), MsgType: 'text', Content: content, MsgId: id });
const eventXml = (event, extra = {}, openid = 'oUser_' + nonce(), createTime = now()) =>
  cdata({ ToUserName: 'gh_test', FromUserName: openid, CreateTime: createTime, MsgType: 'event', Event: event, ...extra });

const storedWith = (dedupKey) => worker.storedWith(dedupKey);

// A valid text message: the sentinel of `worker.assertNothingEnqueuedBy`.
async function sendSentinel() {
  const id = msgId();
  assert.equal((await post(plainQuery(TOKEN), text('sentinel', id))).status, 200);
  return `oa:msg:${id}`;
}

describe('URL verification (GET)', () => {
  urlVerificationTests('/wechat/oa', { token: TOKEN, aesKey: AES, appid: APPID }, () => worker);
});

describe('plain mode', () => {
  test('a text message is transferred to customer service and stored once', async () => {
    const id = msgId();
    const before = now();
    const r = await post(plainQuery(TOKEN), text('hello', id, 'oUserPlain1'));
    assert.equal(r.status, 200);
    const body = await r.text();
    assert.equal(xmlField(body, 'MsgType'), 'transfer_customer_service');
    assert.equal(xmlField(body, 'ToUserName'), 'oUserPlain1');
    assert.equal(xmlField(body, 'FromUserName'), 'gh_test');
    assert.ok(Math.abs(Number(xmlField(body, 'CreateTime')) - before) <= 5);
    assert.equal(body.includes('TransInfo'), false);
    const [stored] = await storedWith(`oa:msg:${id}`);
    const payload = JSON.parse(stored.payload);
    assert.equal(payload.kind, 'oa_message');
    assert.equal(payload.msg_id, id);
    assert.deepEqual(payload.body, { msg_type: 'text', content: 'hello' });
  });

  test('every ordinary message type is transferred', async () => {
    for (const [type, extra] of [
      ['image', { PicUrl: 'http://p/1.jpg', MediaId: 'm1' }], ['voice', { MediaId: 'm', Format: 'amr' }],
      ['video', { MediaId: 'm', ThumbMediaId: 't' }], ['shortvideo', { MediaId: 'm', ThumbMediaId: 't' }],
      ['location', { Location_X: '23.1', Location_Y: '113.3', Scale: 20, Label: 'x' }],
      ['link', { Title: 't', Description: 'd', Url: 'http://u' }], ['file', { Title: 'a.pdf', FileKey: 'k' }],
      ['miniprogrampage', { Title: 't', AppId: 'wxa', PagePath: 'p' }],
    ]) {
      const xml = cdata({ ToUserName: 'gh_test', FromUserName: 'oTypes', CreateTime: now(), MsgType: type, ...extra, MsgId: msgId() });
      const r = await post(plainQuery(TOKEN), xml);
      assert.equal(r.status, 200, type);
      assert.equal(xmlField(await r.text(), 'MsgType'), 'transfer_customer_service', type);
    }
  });

  test('events are answered success and never transferred', async () => {
    for (const [event, extra] of [
      ['subscribe', { EventKey: 'qrscene_1' }], ['unsubscribe', {}], ['SCAN', { EventKey: '1' }], ['CLICK', { EventKey: 'K' }],
      ['VIEW', { EventKey: 'http://x' }], ['LOCATION', { Latitude: '1', Longitude: '2', Precision: '3' }],
      ['kf_create_session', { KfAccount: 'anna@gh_test' }], ['kf_close_session', { KfAccount: 'anna@gh_test' }],
      ['kf_switch_session', { FromKfAccount: 'a@gh_test', ToKfAccount: 'b@gh_test' }],
    ]) {
      const r = await post(plainQuery(TOKEN), eventXml(event, extra));
      assert.equal(r.status, 200, event);
      assert.equal(await r.text(), 'success', event);
    }
  });

  test('WeChat retries of one message give the same reply and one stored event', async () => {
    const id = msgId();
    const xml = text('retry me', id, 'oUserRetry');
    const replies = [];
    for (let i = 0; i < 3; i++) {
      const r = await post(plainQuery(TOKEN), xml);
      assert.equal(r.status, 200);
      replies.push((await r.text()).replace(/<CreateTime>\d+<\/CreateTime>/, ''));
    }
    assert.equal(new Set(replies).size, 1);
    const ev = eventXml('kf_close_session', { KfAccount: 'a@gh_test' }, 'oUserRetry', now());
    await Promise.all([1, 2, 3].map(() => post(plainQuery(TOKEN), ev)));
    await storedWith(`oa:msg:${id}`);
    const dedup = `oa:event:oUserRetry:${xmlField(ev, 'CreateTime')}:kf_close_session`;
    await storedWith(dedup);
    const events = await worker.events();
    assert.equal(events.filter((e) => e.dedup_key === `oa:msg:${id}`).length, 1);
    assert.equal(events.filter((e) => e.dedup_key === dedup).length, 1);
  });
});

describe('safe mode (encrypt_type=aes)', () => {
  test('the reply is an encrypted transfer that an independent client verifies and decrypts', async () => {
    const { query, body } = safePush(TOKEN, AES, APPID, text('你好 in safe mode', msgId(), 'oUserSafe'));
    const r = await post(query, body);
    assert.equal(r.status, 200);
    const reply = await r.text();
    const enc = xmlField(reply, 'Encrypt');
    const ts = xmlField(reply, 'TimeStamp');
    const n = xmlField(reply, 'Nonce');
    assert.ok(Math.abs(Number(ts) - now()) <= 5, 'TimeStamp in seconds');
    assert.equal(xmlField(reply, 'MsgSignature'), sha1Signature(TOKEN, ts, n, enc));
    const { message, appid } = decrypt(AES, enc);
    assert.equal(appid, APPID);
    assert.equal(xmlField(message, 'MsgType'), 'transfer_customer_service');
    assert.equal(xmlField(message, 'ToUserName'), 'oUserSafe');
  });

  test('events in safe mode get plain success', async () => {
    const { query, body } = safePush(TOKEN, AES, APPID, eventXml('subscribe'));
    const r = await post(query, body);
    assert.equal(await r.text(), 'success');
  });

  test('compatible mode (plaintext fields beside Encrypt) uses the authenticated ciphertext', async () => {
    const inner = text('compat', msgId(), 'oUserCompat');
    const { query, enc } = safePush(TOKEN, AES, APPID, inner);
    const body = inner.replace('</xml>', `<Encrypt><![CDATA[${enc}]]></Encrypt></xml>`).replace('oUserCompat', 'oForged');
    const r = await post(query, body);
    assert.equal(r.status, 200);
    const { message } = decrypt(AES, xmlField(await r.text(), 'Encrypt'));
    assert.equal(xmlField(message, 'ToUserName'), 'oUserCompat');
  });

  test('a padding byte above 16 (a real WeChat payload shape) is accepted', async () => {
    // 16 + 4 + len + 18 ≡ 11 (mod 32) gives a 21-byte pad, as in EasyWeChat's vector.
    let content = 'x';
    while ((16 + 4 + Buffer.byteLength(text(content, '1', 'oPad')) + APPID.length) % 32 !== 11) content += 'x';
    const { query, body } = safePush(TOKEN, AES, APPID, text(content, '1', 'oPad'));
    assert.equal((await post(query, body)).status, 200);
  });
});

describe('routing rules and FAQ', () => {
  test('rules are validated on write and drive FAQ replies and KfAccount', async () => {
    const bad = await worker.admin('/api/rules', { method: 'PUT', body: '{"faq":[{"keywords":[],"reply":"x"}]}' });
    assert.equal(bad.status, 400);
    const rules = {
      faq: [{ keywords: ['卡密', 'card key'], reply: 'Keys are under Orders → Details. ]]> <ok>' }],
      routes: [{ keywords: ['退款', 'refund'], kf_accounts: ['anna@gh_test', 'bob@gh_test'] }],
    };
    const put = await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify(rules) });
    assert.equal(put.status, 200);
    assert.equal((await worker.admin('/api/rules', { headers: { authorization: 'Bearer wrong' } })).status, 401);

    const faq = await (await post(plainQuery(TOKEN), text('where is my Card Key?'))).text();
    assert.equal(xmlField(faq, 'MsgType'), 'text');
    assert.equal(xmlField(faq, 'Content'), 'Keys are under Orders → Details. ]]> <ok>');
    assert.ok(faq.includes(']]]]><![CDATA[>'), 'CDATA end is split, not left to break the XML');

    const routed = await (await post(plainQuery(TOKEN), text('我要退款'))).text();
    assert.equal(xmlField(routed, 'MsgType'), 'transfer_customer_service');
    assert.equal(xmlField(routed, 'KfAccount'), 'anna@gh_test');

    const { query, body } = safePush(TOKEN, AES, APPID, text('refund please'));
    const sealed = await (await post(query, body)).text();
    assert.equal(xmlField(decrypt(AES, xmlField(sealed, 'Encrypt')).message, 'KfAccount'), 'anna@gh_test');
    await worker.admin('/api/rules', { method: 'PUT', body: '{}' });
  });
});

describe('bad input gets a specific 4xx and nothing is enqueued', () => {
  const cases = () => {
    const ts = now();
    const q = plainQuery(TOKEN, { timestamp: ts });
    const wrongAppid = sealedEnvelope(TOKEN, encrypt(AES, 'wx0000000000000000', text('x')));
    const badPadding = sealedEnvelope(TOKEN, encrypt(AES, APPID, text('x'), { pad: 0 }));
    const badBase64 = sealedEnvelope(TOKEN, '!!!not-base64!!!');
    const good = safePush(TOKEN, AES, APPID, text('x'));
    return [
      ['missing signature', `timestamp=${ts}&nonce=1`, text('x'), 400, /signature/],
      ['wrong signature', `signature=${'a'.repeat(40)}&timestamp=${ts}&nonce=1`, text('x'), 403, /signature mismatch/],
      ['wrong msg_signature', good.query.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'b'.repeat(40)}`), good.body, 403, /msg_signature/],
      ['stale timestamp', plainQuery(TOKEN, { timestamp: ts - 301 - 60 }), text('x'), 403, /timestamp/],
      ['future timestamp', plainQuery(TOKEN, { timestamp: ts + 3600 }), text('x'), 403, /timestamp/],
      ['malformed XML', q, '<xml><ToUserName>gh</FromUserName></xml>', 400, /XML/],
      ['truncated XML', q, text('x').slice(0, 60), 400, /XML/],
      ['DOCTYPE with entities', q, '<!DOCTYPE xml [<!ENTITY a "b">]>' + text('&a;'), 400, /DOCTYPE/],
      ['invalid UTF-8', q, Buffer.concat([Buffer.from('<xml><Content>'), Buffer.from([0xff, 0xfe]), Buffer.from('</Content></xml>')]), 400, /UTF-8/],
      ['body over 64 KiB', q, text('x'.repeat(65 * 1024)), 413, /exceeds/],
      ['missing fields', q, cdata({ ToUserName: 'gh', CreateTime: ts, MsgType: 'text', Content: 'x' }), 400, /FromUserName/],
      ['wrong AppID after decryption', wrongAppid.query, wrongAppid.body, 403, /AppID/],
      ['bad padding', badPadding.query, badPadding.body, 400, /padding/],
      ['bad base64', badBase64.query, badBase64.body, 400, /base64/],
      ['unknown encrypt_type', q + '&encrypt_type=rot13', text('x'), 400, /encrypt_type/],
    ];
  };

  test('each case answers its status with a short reason', async () => {
    await worker.assertNothingEnqueuedBy(sendSentinel, () => worker.expectRejections('/wechat/oa', cases()));
  });
});

describe('a failed enqueue', () => {
  test('answers 503 so that WeChat retries, and the URL check still works', async () => {
    const broken = await startWorker({}, { withoutQueue: true });
    try {
      const r = await fetch(`${broken.url}/wechat/oa?${plainQuery(TOKEN)}`, { method: 'POST', body: text('not lost') });
      assert.equal(r.status, 503);
      assert.match((await r.json()).error, /queue/);
      const { query, body } = safePush(TOKEN, AES, APPID, text('not lost either'));
      assert.equal((await fetch(`${broken.url}/wechat/oa?${query}`, { method: 'POST', body })).status, 503);
      const check = await fetch(`${broken.url}/wechat/oa?${plainQuery(TOKEN)}&echostr=still-here`);
      assert.equal(await check.text(), 'still-here');
    } finally {
      await broken.stop();
    }
  });
});
