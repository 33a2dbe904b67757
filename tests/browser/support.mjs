// What the browser tests share: the real Worker in wrangler dev (tests/e2e/harness.mjs) with mock
// WeChat, WeCom and CareSoft APIs on 127.0.0.1, Debian's Chromium driven by playwright-core, and
// the platforms' side: an independent WeChat client (tests/e2e/wechat-client.mjs), signed WeChat
// Pay complaint notifications and signed card-shop events.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { SECRETS, startMock, startWorker, waitFor } from '../e2e/harness.mjs';
import { cdata, jsonWithBigInts, msgId, now, safePush } from '../e2e/wechat-client.mjs';

export { SECRETS, waitFor, now };
export const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
export const STAFF = { name: 'anna', token: 'anna-dashboard-token' };
export const TIME_ZONE = 'Asia/Ho_Chi_Minh';
export const VIEWPORTS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 860 } };
export const XSS = '<img src=x onerror=alert(1)>';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The Worker, its mock upstreams and a browser. WeChat refuses custom/send to `oDead…` OpenIDs
// with 40003 (a permanent error: a dead letter) while `wechat.refuseDead` is set.
export async function startDashboard() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const wechat = await startMock('wechat', (req) => {
    if (req.path === '/cgi-bin/stable_token') return { json: { access_token: 'T', expires_in: 7200 } };
    if (req.path === '/cgi-bin/message/custom/send' && wechat.refuseDead && String(req.json?.touser).startsWith('oDead')) {
      return { json: { errcode: 40003, errmsg: 'invalid openid' } };
    }
    return { json: { errcode: 0, errmsg: 'ok' } };
  });
  wechat.refuseDead = true;
  const robot = await startMock('robot');
  let caresoftTicket = 9000;
  const caresoft = await startMock('caresoft', () => ({ json: { status: 'OK', ticket: { ticketId: ++caresoftTicket } } }));
  const worker = await startWorker({
    WECHAT_API_BASE: wechat.url, WECOM_API_BASE: robot.url, CARESOFT_BASE_URL: `${caresoft.url}/demo`,
    STAFF_TOKENS: `${STAFF.name}:${STAFF.token},bob:bob-dashboard-token`, TIME_ZONE, SHOP_APPSECRET: 'dashboard-shop-secret',
  });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  const admin = async (p, init) => {
    const r = await worker.admin(p, init);
    const body = await r.json();
    assert.ok(r.ok, `${p}: ${r.status} ${JSON.stringify(body)}`);
    return body;
  };
  const env = {
    worker, wechat, robot, caresoft, browser, admin,
    async stop() { await browser?.close(); await worker?.stop(); await wechat?.close(); await robot?.close(); await caresoft?.close(); },

    // A safe-mode message from `openid`, as WeChat pushes it to /wechat/oa.
    async customerWrites(openid, content, fields = {}) {
      const xml = cdata({ ToUserName: 'gh_shop', FromUserName: openid, CreateTime: now(), MsgType: 'text', Content: content, MsgId: msgId(), ...fields });
      const { query, body } = safePush(SECRETS.WECHAT_TOKEN, SECRETS.WECHAT_AES_KEY, SECRETS.WECHAT_APPID, xml);
      const r = await fetch(`${worker.url}/wechat/oa?${query}`, { method: 'POST', body });
      assert.equal(r.status, 200, await r.text());
    },

    // A WeChat Shop buyer's message (`msg_type` and its object), as the Shop pushes it in safe mode.
    async buyerWrites(openid, fields) {
      const json = jsonWithBigInts({ ToUserName: 'gh_shop', FromUserName: openid, CreateTime: now(), MsgType: 'event', Event: 'commkf_send_msg_to_kf', msg_id: msgId(), ...fields });
      const { query, body } = safePush(SECRETS.SHOP_TOKEN, SECRETS.SHOP_AES_KEY, SECRETS.SHOP_APPID, json, { envelope: 'json' });
      const r = await fetch(`${worker.url}/wechat/shop?${query}`, { method: 'POST', body });
      assert.equal(r.status, 200, await r.text());
    },

    // A signed WeChat Pay complaint notification (维权) of `type` request | confirm | reject.
    async complaint(feedbackId, openid, type = 'request', { timestamp = now(), transId = '', reason = 'not delivered', solution = 'refund' } = {}) {
      const ts = String(timestamp);
      const AppSignature = crypto.createHash('sha1').update(`appid=${SECRETS.WECHAT_APPID}&appkey=${SECRETS.PAY_SIGN_KEY}&openid=${openid}&timestamp=${ts}`).digest('hex');
      const xml = cdata({ OpenId: openid, AppId: SECRETS.WECHAT_APPID, TimeStamp: ts, MsgType: type, FeedBackId: feedbackId, TransId: transId, Reason: reason, Solution: solution, ExtInfo: '', AppSignature, SignMethod: 'sha1' });
      const r = await fetch(`${worker.url}/wechat/payfeedback`, { method: 'POST', body: xml });
      assert.equal(r.status, 200, await r.text());
    },

    // A signed card-shop event (POST /hooks/orders).
    async orderEvent(event) {
      const body = JSON.stringify({ id: `evt_${crypto.randomUUID()}`, created_at: now(), ...event });
      const ts = String(now());
      const sig = crypto.createHmac('sha256', SECRETS.ORDER_WEBHOOK_SECRET).update(`${ts}.${body}`).digest('hex');
      const r = await fetch(`${worker.url}/hooks/orders`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-kefu-timestamp': ts, 'x-kefu-signature': `sha256=${sig}` } });
      assert.equal(r.status, 200, await r.text());
    },

    async ticketOf(customerId) {
      return waitFor(async () => (await admin('/api/tickets?limit=1000')).tickets.find((t) => t.customer_id === customerId), `${customerId}'s ticket`);
    },

    // A page that records dialogs (none may fire), page errors and CSP violations. Its clock is
    // the browser's own unless `clock` is given; its local time zone is deliberately not the
    // merchant's, so that times shown in the merchant's zone are told apart.
    async newPage(viewport, { locale = 'en-US', storage } = {}) {
      const context = await browser.newContext({ viewport, locale, timezoneId: 'America/New_York', storageState: storage });
      const page = await context.newPage();
      page.dialogs = []; page.errors = []; page.cspViolations = [];
      page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
      page.on('pageerror', (e) => page.errors.push(String(e)));
      page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) page.cspViolations.push(m.text()); });
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`));
      });
      return page;
    },
  };
  return env;
}

export async function signIn(page, url, secret = STAFF.token) {
  await page.goto(`${url}/`);
  await page.fill('#token', secret);
  await page.click('#sign-in');
}

// Nothing ran that should not have: no dialog, no page error, no CSP violation.
export function assertClean(page) {
  assert.deepEqual(page.dialogs, [], 'no dialog fired');
  assert.deepEqual(page.errors, [], 'no page error');
  assert.deepEqual(page.cspViolations, [], 'no Content-Security-Policy violation');
}

// A full-page screenshot, taken from the top (the sticky header stays where it belongs).
export async function shot(page, name) {
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}
