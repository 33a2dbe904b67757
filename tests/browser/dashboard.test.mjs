// The staff dashboard in a real browser (Debian's Chromium, driven by playwright-core) against
// the real Worker in wrangler dev, with mock WeChat and WeCom APIs: sign-in, the queue fed by an
// independent WeChat client, a reply reaching WeChat once with the agent's name on the timeline,
// a complaint resolved, a dead letter replayed, rules edited (an invalid one refused beside the
// rule), languages, and customer markup shown as text. Screenshots of each view, phone- and
// desktop-sized, go to tests/browser/screenshots/ (gitignored).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { SECRETS, startMock, startWorker, waitFor } from '../e2e/harness.mjs';
import { ALL as STRINGS, timelineText, translator } from '../../dashboard/src/i18n.js';
import { cdata, msgId, now, safePush } from '../e2e/wechat-client.mjs';

const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
const STAFF = 'anna-dashboard-token';
const XSS = '<img src=x onerror=alert(1)>';
const VIEWPORTS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 860 } };

let worker; let wechat; let robot; let browser;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  wechat = await startMock('wechat', (req) => {
    if (req.path === '/cgi-bin/stable_token') return { json: { access_token: 'T', expires_in: 7200 } };
    if (req.path === '/cgi-bin/message/custom/send' && req.json?.touser === 'oDeadLetter' && wechat.refuseDead) return { json: { errcode: 40003, errmsg: 'invalid openid' } };
    return { json: { errcode: 0, errmsg: 'ok' } };
  });
  wechat.refuseDead = true;
  robot = await startMock('robot');
  worker = await startWorker({
    WECHAT_API_BASE: wechat.url, WECOM_API_BASE: robot.url, STAFF_TOKENS: `anna:${STAFF}`, TIME_ZONE: 'Asia/Ho_Chi_Minh',
  });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
});
after(async () => { await browser?.close(); await worker?.stop(); await wechat?.close(); await robot?.close(); });

// A safe-mode text message from `openid`, as WeChat sends it.
async function customerWrites(openid, content) {
  const xml = cdata({ ToUserName: 'gh_shop', FromUserName: openid, CreateTime: now(), MsgType: 'text', Content: content, MsgId: msgId() });
  const { query, body } = safePush(SECRETS.WECHAT_TOKEN, SECRETS.WECHAT_AES_KEY, SECRETS.WECHAT_APPID, xml);
  const r = await fetch(`${worker.url}/wechat/oa?${query}`, { method: 'POST', body });
  assert.equal(r.status, 200);
}

async function ticketOf(openid) {
  return waitFor(async () => (await (await worker.admin('/api/tickets?limit=1000')).json()).tickets.find((t) => t.customer_id === openid), `${openid}'s ticket`);
}

// A page with dialogs recorded (none may fire) and page errors collected.
async function newPage(viewport, { lang = 'en-US' } = {}) {
  const context = await browser.newContext({ viewport, locale: lang });
  const page = await context.newPage();
  page.dialogs = [];
  page.errors = [];
  page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss(); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  return page;
}

async function signIn(page, secret = STAFF) {
  await page.goto(`${worker.url}/`);
  await page.fill('#token', secret);
  await page.click('#sign-in');
}

const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

test('every string of the page exists in every language', () => {
  const english = Object.keys(STRINGS.en).sort();
  for (const lang of ['zh-CN', 'vi']) {
    assert.deepEqual(Object.keys(STRINGS[lang]).sort(), english, lang);
    for (const key of english) assert.ok(STRINGS[lang][key].trim(), `${lang}.${key}`);
  }
});

test('the lines kefu-edge writes on a timeline are translated; what they quote is not', () => {
  const zh = translator('zh-CN');
  assert.equal(timelineText('reply via WeChat: <b>hi</b>', zh, 'agent'), '通过微信回复：<b>hi</b>');
  assert.equal(timelineText('complaint F1 resolved by anna; message to the customer: ok', zh, 'agent'), '投诉 F1 已由 anna 处理；给客户的消息：ok');
  assert.equal(timelineText('resolved', translator('vi'), 'agent'), 'đã giải quyết');
  assert.equal(timelineText('resolved', zh, 'inbound'), 'resolved', 'a customer\'s words stay theirs');
  assert.equal(timelineText('something new', zh, 'status'), 'something new');
});

describe('the dashboard', () => {
  test('a wrong token is refused, and the token is kept only in sessionStorage', async () => {
    const page = await newPage(VIEWPORTS.desktop);
    await signIn(page, 'not-a-token');
    await page.waitForSelector('text=This token is not accepted.');
    await signIn(page);
    await page.waitForSelector('text=Signed in as');
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('kefu.token'), local: JSON.stringify(localStorage), url: location.href }));
    assert.equal(stored.session, STAFF);
    assert.ok(!stored.local.includes(STAFF) && !stored.url.includes(STAFF));
    await page.click('#sign-out');
    await page.waitForSelector('#token');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('kefu.token')), null);
    await page.context().close();
  });

  test('a callback appears in the queue; a reply reaches WeChat once and shows with the agent\'s name; markup stays text', async () => {
    await customerWrites('oDashCustomer', `我的卡密呢 ${XSS}`);
    const ticket = await ticketOf('oDashCustomer');
    const page = await newPage(VIEWPORTS.desktop);
    await signIn(page);
    await page.waitForSelector(`a[href="#/ticket/${ticket.id}"]`);
    await shot(page, 'desktop-queue');
    await page.click(`a[href="#/ticket/${ticket.id}"]`);
    await page.waitForSelector('.timeline .body');
    assert.ok((await page.textContent('.timeline')).includes(XSS), 'the markup is shown as characters');
    assert.equal(await page.locator('.timeline img').count(), 0);
    assert.match(await page.textContent('.reach'), /WeChat — the customer's 48-hour WeChat window may be open/);
    const text = `您好，卡密已补发 ${Date.now()}`;
    await page.fill('#reply-text', text);
    await page.click('#send-reply');
    const sends = () => wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.text?.content === text);
    await waitFor(() => sends().length === 1, 'the custom/send');
    assert.equal(sends()[0].json.touser, 'oDashCustomer');
    await page.waitForSelector(`text=reply via WeChat: ${text}`, { timeout: 30_000 });
    const line = page.locator('.timeline li', { hasText: `reply via WeChat: ${text}` });
    assert.equal(await line.locator('.actor').textContent(), 'anna');
    await shot(page, 'desktop-ticket');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(sends().length, 1, 'exactly one custom/send');
    assert.deepEqual(page.dialogs, [], 'no dialog fired');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('a complaint resolved from the page reaches payfeedback/update once', async () => {
    const feedbackId = `fb${Date.now()}`;
    const ts = String(now());
    const appSignature = crypto.createHash('sha1').update(`appid=${SECRETS.WECHAT_APPID}&appkey=${SECRETS.PAY_SIGN_KEY}&openid=oComplainer&timestamp=${ts}`).digest('hex');
    const xml = cdata({ OpenId: 'oComplainer', AppId: SECRETS.WECHAT_APPID, TimeStamp: ts, MsgType: 'request', FeedBackId: feedbackId, TransId: `42${Date.now()}`, Reason: 'not delivered', Solution: 'refund', ExtInfo: '', AppSignature: appSignature, SignMethod: 'sha1' });
    assert.equal((await fetch(`${worker.url}/wechat/payfeedback`, { method: 'POST', body: xml })).status, 200);
    await waitFor(async () => (await (await worker.admin('/api/complaints')).json()).complaints.some((c) => c.feedback_id === feedbackId), 'the complaint');
    const page = await newPage(VIEWPORTS.desktop);
    await signIn(page);
    await page.click('#nav-complaints');
    await page.click(`button.resolve-complaint[data-fid="${feedbackId}"]`);
    await page.fill('#complaint-message', '已退款，请查收');
    await shot(page, 'desktop-complaints');
    await page.click('#confirm-resolve');
    const updates = () => wechat.calls('/payfeedback/update').filter((c) => c.query.feedbackid === feedbackId);
    await waitFor(() => updates().length === 1, 'the payfeedback/update');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(updates().length, 1);
    const ticket = await ticketOf('oComplainer');
    const timeline = (await (await worker.admin(`/api/tickets/${ticket.id}`)).json()).timeline;
    assert.ok(timeline.some((e) => e.actor === 'anna' && e.body.includes(`complaint ${feedbackId} resolved by anna`)));
    await page.context().close();
  });

  test('a dead letter is replayed from the page', async () => {
    await customerWrites('oDeadLetter', 'hello');
    const ticket = await ticketOf('oDeadLetter');
    await worker.admin(`/api/tickets/${ticket.id}/reply`, { method: 'POST', body: JSON.stringify({ text: 'to a refused openid' }) });
    const dead = await waitFor(async () => (await (await worker.admin('/api/dead-letters')).json()).dead_letters.find((d) => d.reason.includes('40003')), 'the dead letter');
    wechat.refuseDead = false;
    const page = await newPage(VIEWPORTS.desktop);
    await signIn(page);
    await page.click('#nav-deliveries');
    await page.waitForSelector(`button.replay[data-id="${dead.id}"]`);
    assert.match(await page.textContent('.dead-letters'), /40003/);
    await shot(page, 'desktop-deliveries');
    await page.click(`button.replay[data-id="${dead.id}"]`);
    await page.waitForSelector('text=Put back in line.');
    await waitFor(() => wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === 'oDeadLetter').length === 2, 'the replayed send');
    await page.context().close();
  });

  test('a rule is changed; an invalid one is refused with the error beside it', async () => {
    const page = await newPage(VIEWPORTS.desktop);
    await signIn(page);
    await page.click('#nav-rules');
    await page.click('button.add-rule[data-section="faq"]');
    await page.fill('textarea[data-rule="faq[0]"]', '{"keywords": [], "reply": "x"}');
    await page.click('#save-rules');
    await page.waitForSelector('.rule[data-rule="faq[0]"] .rule-error');
    assert.match(await page.textContent('.rule[data-rule="faq[0]"] .rule-error'), /faq\[0\]\.keywords/);
    await shot(page, 'desktop-rules');
    await page.fill('textarea[data-rule="faq[0]"]', '{"keywords": ["卡密"], "reply": "Your key is in Orders"}');
    await page.click('#save-rules');
    await page.waitForSelector('text=Saved.');
    const rules = await (await worker.admin('/api/rules')).json();
    assert.deepEqual(rules.faq, [{ keywords: ['卡密'], reply: 'Your key is in Orders' }]);
    await page.context().close();
  });

  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    test(`every view in three languages, ${name}-sized`, async () => {
      const page = await newPage(viewport, { lang: 'zh-CN' });
      await signIn(page);
      await page.waitForSelector('text=工单队列');
      for (const [lang, label] of [['zh-CN', '工单队列'], ['vi', 'Hàng đợi'], ['en', 'Queue']]) {
        await page.selectOption('#language', lang);
        await page.waitForSelector(`#nav-queue:has-text("${label}")`);
        for (const view of ['queue', 'complaints', 'orders', 'deliveries', 'rules', 'stats']) {
          await page.click(`#nav-${view}`);
          await page.waitForTimeout(400);
          await shot(page, `${name}-${lang}-${view}`);
        }
      }
      // Vietnamese is remembered across a reload.
      await page.selectOption('#language', 'vi');
      await page.reload();
      await page.waitForSelector('#nav-queue:has-text("Hàng đợi")');
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'vi');
      assert.deepEqual(page.dialogs, []);
      assert.deepEqual(page.errors, []);
      await page.context().close();
    });
  }
});
