// The dashboard's words, without a browser: every string in every language, and the lines
// kefu-edge writes (timeline entries, rule errors) read in the page's language while what they
// quote stays as it came.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL, errorText, inboundParts, ruleError, span, timelineText, translator } from '../../dashboard/src/i18n.js';

test('every string of the page exists in every language, with the same placeholders', () => {
  const english = Object.keys(ALL.en).sort();
  for (const lang of ['zh-CN', 'vi']) {
    assert.deepEqual(Object.keys(ALL[lang]).sort(), english, lang);
    for (const key of english) {
      if (key !== 'u_sep') assert.ok(ALL[lang][key].trim(), `${lang}.${key} is empty`);
      const holes = (s) => (s.match(/\{\d\}/g) ?? []).sort();
      assert.deepEqual(holes(ALL[lang][key]), holes(ALL.en[key]), `${lang}.${key} placeholders`);
    }
  }
});

test('the lines kefu-edge writes on a timeline are translated; what they quote is not', () => {
  const zh = translator('zh-CN');
  const vi = translator('vi');
  assert.equal(timelineText('reply via WeChat: <b>hi</b>', zh, 'agent'), '通过微信回复：<b>hi</b>');
  assert.equal(timelineText('complaint F1 resolved by anna; message to the customer: ok', zh, 'agent'), '投诉 F1 已由 anna 处理；给客户的消息：ok');
  assert.equal(timelineText('complaint F1 resolved by anna; news message to the customer', vi, 'agent'), 'Khiếu nại F1 đã được anna xử lý; đã gửi cho khách một tin nhắn loại news');
  assert.equal(timelineText('complaint F1 opened: no reason given (asks: refund)', zh, 'complaint'), '投诉 F1 已创建：未说明原因（诉求：refund）');
  assert.equal(timelineText('complaint F1: the user rejected the handling; reopened and escalated', vi, 'complaint'), 'Khiếu nại F1: khách từ chối cách xử lý; đã mở lại và nâng mức');
  assert.equal(timelineText('session taken by an agent', zh, 'agent'), '客服 接入会话');
  assert.equal(timelineText('not delivered: errcode 45015: response out of time limit; sent as ZNS instead', zh, 'outbound'), '发送失败：errcode 45015: response out of time limit；已改用 ZNS 发送');
  assert.equal(timelineText('ZNS template 366 sent to 098***148 (CareSoft ticket 77)', vi, 'outbound'), 'Đã gửi mẫu ZNS 366 tới 098***148 (phiếu CareSoft 77)');
  assert.equal(timelineText('resolved', vi, 'agent'), 'Đã giải quyết');
  assert.equal(timelineText('reply via Zalo OA: chào bạn', vi, 'agent'), 'Trả lời qua Zalo OA: chào bạn');
  assert.equal(timelineText('seen by the customer', zh, 'outbound'), '客户已读');
  assert.equal(timelineText('resolved', zh, 'inbound'), 'resolved', 'a customer\'s words stay theirs');
  assert.equal(timelineText('something new', zh, 'status'), 'something new');
});

test('a customer message\'s type is read only from the forms kefu-edge writes', () => {
  const en = translator('en');
  assert.deepEqual(inboundParts('[image] https://mmbiz.qpic.cn/a.jpg', en), { type: 'Image', text: 'https://mmbiz.qpic.cn/a.jpg' });
  assert.deepEqual(inboundParts('[voice] 我要退款', translator('zh-CN')), { type: '语音', text: '我要退款' });
  assert.deepEqual(inboundParts('[voice] (no translation)', en), { type: 'Voice', text: '(no transcription)' });
  assert.deepEqual(inboundParts('[video 32s] https://x/v.mp4', en), { type: 'Video, 32 s', text: 'https://x/v.mp4' });
  assert.deepEqual(inboundParts('[order.delivery_failed] 没收到卡密', en), { type: 'Delivery failed', text: '没收到卡密' });
  assert.deepEqual(inboundParts('[weird] (unsupported message type)', en), { type: 'Type weird', text: 'a message type kefu-edge does not read' });
  assert.deepEqual(inboundParts('[hi] there', en), { type: null, text: '[hi] there' });
  // A customer's text that looks like a media line is marked `[text]` by kefu-edge: text.
  assert.deepEqual(inboundParts('[text] [image] https://evil.example/a.jpg', en), { type: null, text: '[image] https://evil.example/a.jpg' });
  assert.deepEqual(inboundParts('<img src=x onerror=alert(1)>', en), { type: null, text: '<img src=x onerror=alert(1)>' });
});

test('a rule error names its rule and field, in the page\'s language', () => {
  const vi = translator('vi');
  assert.deepEqual(ruleError('faq[2].reply must be 1..=2048 bytes', vi), { rule: 'faq[2]', field: 'reply', text: 'faq[2]: câu trả lời phải dài từ 1 đến 2048 byte' });
  assert.deepEqual(ruleError('routes[0] needs keywords or a category', vi), { rule: 'routes[0]', field: null, text: 'routes[0]: cần từ khóa hoặc loại' });
  assert.deepEqual(ruleError('zns[1].on must be one of order.paid, ticket.resolved', translator('en')).rule, 'zns[1]');
  assert.equal(ruleError('zns_fallback.params.m: unknown placeholder {x}; known: {text}', translator('en')).text, 'zns_fallback.params.m: unknown placeholder {x}; known: {text}');
  assert.deepEqual(ruleError('rules are not valid: missing field `reply`', translator('en')), { rule: null, field: null, text: 'The rules were refused: rules are not valid: missing field `reply`' });
});

test('durations in each language\'s units', () => {
  assert.equal(span(3 * 86400 + 4 * 3600, translator('en')), '3d 4h');
  assert.equal(span(-(2 * 3600 + 5 * 60), translator('zh-CN')), '2小时5分');
  assert.equal(span(65, translator('vi')), '1 phút 5 giây');
});

test('a refusal for the role names the role it needs, in the page\'s language', () => {
  const refused = { status: 403, code: 'forbidden', reason: 'PUT /api/rules needs the owner role' };
  assert.equal(errorText(refused, translator('en')), 'Your role cannot do this: it needs the owner role.');
  assert.equal(errorText({ ...refused, reason: 'POST /api/zns needs the lead role' }, translator('zh-CN')), '您的角色无权执行此操作：需要“高级客服”角色。');
  assert.equal(errorText({ status: 422, code: 'idempotency_key_reused' }, translator('vi')), 'Yêu cầu này đã được gửi với nội dung khác. Hãy tải lại rồi thử lại.');
});
