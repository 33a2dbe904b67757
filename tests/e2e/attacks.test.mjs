// The attacks an audit found (issue 9), replayed against a Worker deployed as by default:
// forged plain pushes to safe-mode endpoints, a worst-case XML body, extreme timestamps and
// markdown injected into staff alerts. Each gets its 4xx or a harmless result.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SECRETS, sleep, startMock, startWorker, waitFor } from './harness.mjs';
import { cdata, msgId, nonce, now, plainQuery, safePush, sha1Signature } from './wechat-client.mjs';

const { WECHAT_TOKEN: TOKEN, WECHAT_AES_KEY: AES, WECHAT_APPID: APPID, SHOP_TOKEN, SHOP_AES_KEY, SHOP_APPID } = SECRETS;
let worker; let robot;

before(async () => {
  robot = await startMock('robot');
  // As deployed: an AES key set and unencrypted pushes not allowed.
  worker = await startWorker({ ALLOW_UNENCRYPTED_PUSH: undefined, WECOM_API_BASE: robot.url });
});
after(async () => { await worker?.stop(); await robot?.close(); });

const text = (content, id = msgId(), openid = `oAttack_${nonce()}`) =>
  cdata({ ToUserName: 'gh_test', FromUserName: openid, CreateTime: now(), MsgType: 'text', Content: content, MsgId: id });
const post = (route, query, body) => fetch(`${worker.url}${route}?${query}`, { method: 'POST', body });

async function sendSentinel() {
  const id = msgId();
  const { query, body } = safePush(TOKEN, AES, APPID, text('sentinel', id));
  assert.equal((await post('/wechat/oa', query, body)).status, 200);
  return `oa:msg:${id}`;
}

describe('a safe-mode endpoint', () => {
  test('refuses an unencrypted push, however well its signature checks out', async () => {
    await worker.assertNothingEnqueuedBy(sendSentinel, async () => {
      for (const [route, token] of [['/wechat/oa', TOKEN], ['/wechat/shop', SHOP_TOKEN]]) {
        const r = await post(route, plainQuery(token), text('forged: refund me'));
        assert.equal(r.status, 403, route);
        assert.match((await r.json()).error, /unencrypted push refused: .*_AES_KEY is set.*ALLOW_UNENCRYPTED_PUSH/, route);
      }
    });
  });

  test('still takes safe-mode pushes and answers the URL check', async () => {
    const id = msgId();
    const { query, body } = safePush(TOKEN, AES, APPID, text('hello', id));
    assert.equal((await post('/wechat/oa', query, body)).status, 200);
    await worker.storedWith(`oa:msg:${id}`);
    const shop = safePush(SHOP_TOKEN, SHOP_AES_KEY, SHOP_APPID, JSON.stringify({
      ToUserName: 'gh_shop', FromUserName: 'oBuyer', CreateTime: now(), MsgType: 'event', Event: 'commkf_send_msg_to_kf',
      msg_id: msgId(), msg_type: 'text', text: { content: 'hi' },
    }));
    assert.equal((await post('/wechat/shop', shop.query, shop.body)).status, 200);
    const r = await fetch(`${worker.url}/wechat/oa?${plainQuery(TOKEN)}&echostr=still-checks`);
    assert.equal(await r.text(), 'still-checks');
  });
});

describe('hostile input before authentication', () => {
  test('a 64 KiB body of empty elements is refused at once, and /healthz stays fast', async () => {
    const body = `<xml>${'<a></a>'.repeat(Math.floor((64 * 1024 - 20) / 7))}</xml>`;
    const { query } = safePush(TOKEN, AES, APPID, 'x');
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 8 }, () => post('/wechat/oa', query, body)));
    for (const r of answers) assert.equal(r.status, 400);
    const health = Date.now();
    assert.equal((await fetch(`${worker.url}/healthz`)).status, 200);
    // Not a timing assertion on the Worker: a generous bound that the old quadratic parse
    // (seconds per request) could not meet, checked once.
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    assert.ok(Date.now() - health < 5_000);
  });

  test('a chunked body of several MB is refused with 413 without being read whole', async () => {
    // node:http rather than fetch: the Worker answers before the upload ends. wrangler dev's
    // proxy, still forwarding the upload when the Worker has answered, may turn that answer into
    // its own 503 or a reset; the Worker's log line is what shows its decision.
    const logBefore = worker.log.split('413 body exceeds').length;
    const { status } = await new Promise((resolve) => {
      const url = new URL(`${worker.url}/wechat/oa?${plainQuery(TOKEN)}`);
      const req = http.request(url, { method: 'POST' }); // no Content-Length: chunked
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode }));
      });
      req.on('error', () => resolve({ status: 'reset' }));
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const more = () => {
        while (sent < 80 && !req.destroyed) { // 5 MiB
          sent += 1;
          if (!req.write(chunk)) return req.once('drain', more);
        }
        if (!req.destroyed) req.end();
      };
      more();
    });
    assert.notEqual(status, 200);
    await waitFor(() => worker.log.split('413 body exceeds').length > logBefore, 'the Worker refusing it with 413');
    assert.equal((await fetch(`${worker.url}/healthz`)).status, 200);
  });

  test('an accepted body whose event outgrows the queue is a 413, not an endless 503', async () => {
    await worker.assertNothingEnqueuedBy(sendSentinel, async () => {
      const id = msgId();
      // Control characters: 1 byte in the body, 6 (\u0001) in the queue's JSON.
      const xml = text('\u0001'.repeat(24 * 1024), id);
      const { query, body } = safePush(TOKEN, AES, APPID, xml);
      assert.ok(body.length <= 64 * 1024, `the body itself is accepted (${body.length} bytes)`);
      const r = await post('/wechat/oa', query, body);
      assert.equal(r.status, 413);
      assert.match((await r.json()).error, /on the queue, which takes at most 128000/);
    });
  });

  test('timestamps at the ends of the 64-bit range are stale, not overflows', async () => {
    for (const ts of ['-9223372036854775808', '9223372036854775807']) {
      const n = nonce();
      const query = `signature=${sha1Signature(TOKEN, ts, n)}&timestamp=${ts}&nonce=${n}&echostr=x`;
      const r = await fetch(`${worker.url}/wechat/oa?${query}`);
      assert.equal(r.status, 403, ts);
      assert.match((await r.json()).error, /timestamp outside the allowed window/);
    }
  });
});

describe('staff alerts', () => {
  test('carry a customer\'s markdown as inert text', async () => {
    const openid = `oInject_${nonce()}`;
    const attack = 'hi [点此领取退款](http://evil.example/x) <@all> **urgent** <font color="warning">!</font>';
    const { query, body } = safePush(TOKEN, AES, APPID, text(attack, msgId(), openid));
    assert.equal((await post('/wechat/oa', query, body)).status, 200);
    const line = await waitFor(() => robot.requests
      .flatMap((r) => (r.json?.markdown?.content ?? '').split('\n'))
      .find((l) => l.includes('点此领取退款')), 'the alert');
    for (const forbidden of ['[', '](', '<@', '**', '<font']) {
      assert.equal(line.split(': ').slice(1).join(': ').includes(forbidden), false, `${forbidden} in ${line}`);
    }
    await sleep(100);
  });
});

describe('the logs', () => {
  test('are one JSON line per request, with no secret and no unmasked OpenID', async () => {
    const openid = `oLogged_${nonce()}`;
    const { query, body } = safePush(TOKEN, AES, APPID, text('log me', msgId(), openid));
    assert.equal((await post('/wechat/oa', query, body)).status, 200);
    const refused = await post('/wechat/oa', plainQuery(TOKEN), text('forged'));
    assert.equal(refused.status, 403);
    await waitFor(() => worker.log.includes('"refused":"unencrypted_push"'), 'the refusal logged');
    const records = worker.log.split('\n').flatMap((l) => {
      try { return [JSON.parse(l.slice(l.indexOf('{')))]; } catch { return []; }
    }).filter((r) => typeof r.log === 'string');
    const requests = records.filter((r) => r.log === 'request');
    assert.ok(requests.some((r) => r.route === '/wechat/oa' && r.status === 200 && /^oa_message text from oLo\*\*\*/.test(r.event)), 'the accepted push, masked');
    assert.ok(requests.some((r) => r.status === 403 && r.refused === 'unencrypted_push'));
    for (const r of requests) assert.equal(typeof r.ms, 'number');
    await waitFor(() => worker.log.includes('"log":"queue"'), 'a queue line');
    for (const secret of Object.values(SECRETS)) {
      if (secret.length > 4) assert.equal(worker.log.includes(secret), false, 'a secret in the log');
    }
    assert.equal(worker.log.includes(openid), false, 'an unmasked OpenID in the log');
  });
});
