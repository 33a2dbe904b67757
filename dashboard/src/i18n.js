// Every string of the page in the three languages. The language comes from the browser until
// the agent picks one, which is remembered.
const STRINGS = {
  en: {
    tl_reply_wechat: 'reply via WeChat: {1}', tl_reply_zns: 'reply via Zalo ZNS: {1}', tl_assigned: 'assigned to {1}', tl_unassigned: 'unassigned',
    tl_resolved: 'resolved', tl_closed: 'closed', tl_reopened: 'reopened', tl_sent: 'sent to the customer: {1}',
    tl_complaint_resolved_msg: 'complaint {1} resolved by {2}; message to the customer: {3}', tl_complaint_resolved: 'complaint {1} resolved by {2}',
    tl_payfeedback_told: 'WeChat Pay told complaint {1} was handled', tl_staff_alerted: 'staff alerted', tl_not_delivered: 'not delivered: {1}',
    tl_zns_sent: 'ZNS template {1} sent to {2}',
    ch_oa: 'Official Account', ch_shop: 'WeChat Shop', ch_payfeedback: 'WeChat Pay complaint', ch_orders: 'card shop',
    cat_general: 'general', cat_not_delivered: 'not delivered', cat_invalid_card: 'invalid card', cat_delayed: 'delayed', cat_refund: 'refund', cat_complaint: 'complaint',
    pr_normal: 'normal', pr_high: 'high', pr_urgent: 'urgent',
    title: 'kefu-edge',
    signIn: 'Sign in', signOut: 'Sign out', tokenLabel: 'Token (ADMIN_TOKEN or your staff token)',
    wrongToken: 'This token is not accepted.',
    queue: 'Queue', complaints: 'Complaints', orders: 'Orders', deliveries: 'Deliveries', rules: 'Rules', stats: 'Stats',
    status: 'Status', channel: 'Channel', category: 'Category', priority: 'Priority', assignee: 'Assignee', any: 'any',
    customer: 'Customer', due: 'Due', breached: 'breached', firstResponse: 'first response', resolution: 'resolution',
    noTickets: 'No tickets.', back: 'Back', ticket: 'Ticket', timeline: 'Timeline',
    reply: 'Reply', send: 'Send', replyVia: 'Goes by', assign: 'Assign', resolve: 'Resolve', close: 'Close', reopen: 'Reopen',
    order: 'Order', none: 'none', product: 'Product', amount: 'Amount',
    kind_inbound: 'customer', kind_agent: 'agent', kind_outbound: 'sent', kind_status: 'status',
    deadline: 'Deadline', left: 'left', overdue: 'overdue', quarterLeft: 'less than a quarter left', escalated: 'rejected by the customer',
    resolveComplaint: 'Resolve complaint', messageOptional: 'Message to the customer (optional)', cancel: 'Cancel',
    reason: 'Reason', replay: 'Replay', replayed: 'Put back in line.', deadLetters: 'Dead letters', state: 'State',
    save: 'Save', saved: 'Saved.', rulesHelp: 'The rules document (FAQ, routes, ZNS rules, zns_fallback) as JSON.',
    ticketsPerDay: 'Tickets opened per day', responseTimes: 'First response and resolution (minutes)',
    average: 'average', p90: 'p90', slaBreaches: 'SLA breaches', resolutionRate: 'Resolution rate', complaintsByOutcome: 'Complaints by outcome',
    language: 'Language', signedInAs: 'Signed in as', refresh: 'Refresh', events: 'Events', tickets: 'Tickets', loading: 'Loading…',
    channel_wechat: 'WeChat', channel_zns: 'Zalo ZNS', channel_none: 'no channel',
    reason_window_may_be_open: 'the customer\'s 48-hour WeChat window may be open',
    reason_no_openid: 'the customer has no WeChat OpenID',
    reason_window_closed: 'the customer\'s 48-hour WeChat window is closed',
    reason_closed_without_fallback: 'the 48-hour window is closed and no ZNS fallback template is configured',
    reason_unreachable: 'no WeChat OpenID, and no phone with a ZNS fallback template',
    st_open: 'open', st_pending: 'pending', st_resolved: 'resolved', st_closed: 'closed', st_processed: 'processed', st_reopened: 'reopened',
    st_delivered: 'delivered', st_dead: 'dead', st_retrying: 'retrying', st_sending: 'sending', st_paid: 'paid', st_refunded: 'refunded',
  },
  'zh-CN': {
    tl_reply_wechat: '通过微信回复：{1}', tl_reply_zns: '通过 Zalo ZNS 回复：{1}', tl_assigned: '分配给 {1}', tl_unassigned: '取消分配',
    tl_resolved: '已解决', tl_closed: '已关闭', tl_reopened: '已重新打开', tl_sent: '已发送给客户：{1}',
    tl_complaint_resolved_msg: '投诉 {1} 已由 {2} 处理；给客户的消息：{3}', tl_complaint_resolved: '投诉 {1} 已由 {2} 处理',
    tl_payfeedback_told: '已通知微信支付投诉 {1} 已处理', tl_staff_alerted: '已通知客服群', tl_not_delivered: '发送失败：{1}',
    tl_zns_sent: 'ZNS 模板 {1} 已发送至 {2}',
    ch_oa: '公众号', ch_shop: '微信小店', ch_payfeedback: '微信支付维权', ch_orders: '发卡平台',
    cat_general: '一般', cat_not_delivered: '未发货', cat_invalid_card: '卡密无效', cat_delayed: '延迟', cat_refund: '退款', cat_complaint: '投诉',
    pr_normal: '普通', pr_high: '高', pr_urgent: '紧急',
    title: 'kefu-edge 客服台',
    signIn: '登录', signOut: '退出', tokenLabel: '令牌（ADMIN_TOKEN 或你的客服令牌）',
    wrongToken: '令牌无效。',
    queue: '工单队列', complaints: '维权投诉', orders: '订单', deliveries: '发送记录', rules: '规则', stats: '统计',
    status: '状态', channel: '渠道', category: '类别', priority: '优先级', assignee: '负责人', any: '全部',
    customer: '客户', due: '期限', breached: '已超时', firstResponse: '首次响应', resolution: '解决',
    noTickets: '没有工单。', back: '返回', ticket: '工单', timeline: '时间线',
    reply: '回复', send: '发送', replyVia: '发送渠道', assign: '分配', resolve: '解决', close: '关闭', reopen: '重新打开',
    order: '订单', none: '无', product: '商品', amount: '金额',
    kind_inbound: '客户', kind_agent: '客服', kind_outbound: '已发送', kind_status: '状态',
    deadline: '处理期限', left: '剩余', overdue: '已逾期', quarterLeft: '剩余不足四分之一', escalated: '客户已拒绝处理结果',
    resolveComplaint: '处理投诉', messageOptional: '给客户的消息（可选）', cancel: '取消',
    reason: '原因', replay: '重新发送', replayed: '已重新排队。', deadLetters: '死信', state: '状态',
    save: '保存', saved: '已保存。', rulesHelp: '规则文档（常见问题、分配、ZNS 规则、zns_fallback），JSON 格式。',
    ticketsPerDay: '每日新建工单', responseTimes: '首次响应与解决用时（分钟）',
    average: '平均', p90: 'P90', slaBreaches: 'SLA 超时', resolutionRate: '解决率', complaintsByOutcome: '投诉处理结果',
    language: '语言', signedInAs: '当前登录', refresh: '刷新', events: '事件', tickets: '工单', loading: '加载中…',
    channel_wechat: '微信', channel_zns: 'Zalo ZNS', channel_none: '无可用渠道',
    reason_window_may_be_open: '客户的 48 小时微信客服窗口可能仍开放',
    reason_no_openid: '客户没有微信 OpenID',
    reason_window_closed: '客户的 48 小时微信客服窗口已关闭',
    reason_closed_without_fallback: '48 小时窗口已关闭，且未配置 ZNS 备用模板',
    reason_unreachable: '没有微信 OpenID，也没有可用于 ZNS 备用模板的手机号',
    st_open: '待处理', st_pending: '等待中', st_resolved: '已解决', st_closed: '已关闭', st_processed: '已处理', st_reopened: '已重开',
    st_delivered: '已送达', st_dead: '失败', st_retrying: '重试中', st_sending: '发送中', st_paid: '已付款', st_refunded: '已退款',
  },
  vi: {
    tl_reply_wechat: 'trả lời qua WeChat: {1}', tl_reply_zns: 'trả lời qua Zalo ZNS: {1}', tl_assigned: 'giao cho {1}', tl_unassigned: 'bỏ giao',
    tl_resolved: 'đã giải quyết', tl_closed: 'đã đóng', tl_reopened: 'đã mở lại', tl_sent: 'đã gửi cho khách: {1}',
    tl_complaint_resolved_msg: 'khiếu nại {1} đã được {2} xử lý; tin nhắn cho khách: {3}', tl_complaint_resolved: 'khiếu nại {1} đã được {2} xử lý',
    tl_payfeedback_told: 'đã báo WeChat Pay rằng khiếu nại {1} đã được xử lý', tl_staff_alerted: 'đã báo nhóm nhân viên', tl_not_delivered: 'gửi không thành công: {1}',
    tl_zns_sent: 'mẫu ZNS {1} đã gửi tới {2}',
    ch_oa: 'Official Account', ch_shop: 'WeChat Shop', ch_payfeedback: 'khiếu nại WeChat Pay', ch_orders: 'shop bán thẻ',
    cat_general: 'chung', cat_not_delivered: 'chưa giao', cat_invalid_card: 'thẻ không hợp lệ', cat_delayed: 'chậm trễ', cat_refund: 'hoàn tiền', cat_complaint: 'khiếu nại',
    pr_normal: 'thường', pr_high: 'cao', pr_urgent: 'khẩn cấp',
    title: 'kefu-edge',
    signIn: 'Đăng nhập', signOut: 'Đăng xuất', tokenLabel: 'Mã truy cập (ADMIN_TOKEN hoặc mã nhân viên của bạn)',
    wrongToken: 'Mã truy cập không hợp lệ.',
    queue: 'Hàng đợi', complaints: 'Khiếu nại', orders: 'Đơn hàng', deliveries: 'Lượt gửi', rules: 'Quy tắc', stats: 'Thống kê',
    status: 'Trạng thái', channel: 'Kênh', category: 'Loại', priority: 'Ưu tiên', assignee: 'Người phụ trách', any: 'tất cả',
    customer: 'Khách hàng', due: 'Hạn', breached: 'quá hạn', firstResponse: 'phản hồi đầu', resolution: 'giải quyết',
    noTickets: 'Không có phiếu.', back: 'Quay lại', ticket: 'Phiếu', timeline: 'Dòng thời gian',
    reply: 'Trả lời', send: 'Gửi', replyVia: 'Gửi qua', assign: 'Giao', resolve: 'Giải quyết', close: 'Đóng', reopen: 'Mở lại',
    order: 'Đơn hàng', none: 'không có', product: 'Sản phẩm', amount: 'Số tiền',
    kind_inbound: 'khách hàng', kind_agent: 'nhân viên', kind_outbound: 'đã gửi', kind_status: 'trạng thái',
    deadline: 'Hạn xử lý', left: 'còn lại', overdue: 'quá hạn', quarterLeft: 'còn dưới một phần tư thời gian', escalated: 'khách hàng từ chối cách xử lý',
    resolveComplaint: 'Xử lý khiếu nại', messageOptional: 'Tin nhắn cho khách hàng (không bắt buộc)', cancel: 'Hủy',
    reason: 'Lý do', replay: 'Gửi lại', replayed: 'Đã đưa lại vào hàng đợi.', deadLetters: 'Thư chết', state: 'Trạng thái',
    save: 'Lưu', saved: 'Đã lưu.', rulesHelp: 'Tài liệu quy tắc (FAQ, phân công, quy tắc ZNS, zns_fallback) dạng JSON.',
    ticketsPerDay: 'Phiếu mới mỗi ngày', responseTimes: 'Phản hồi đầu và giải quyết (phút)',
    average: 'trung bình', p90: 'p90', slaBreaches: 'Vi phạm SLA', resolutionRate: 'Tỷ lệ giải quyết', complaintsByOutcome: 'Khiếu nại theo kết quả',
    language: 'Ngôn ngữ', signedInAs: 'Đăng nhập với tên', refresh: 'Làm mới', events: 'Sự kiện', tickets: 'Phiếu', loading: 'Đang tải…',
    channel_wechat: 'WeChat', channel_zns: 'Zalo ZNS', channel_none: 'không có kênh',
    reason_window_may_be_open: 'cửa sổ 48 giờ trên WeChat của khách có thể vẫn mở',
    reason_no_openid: 'khách hàng không có OpenID WeChat',
    reason_window_closed: 'cửa sổ 48 giờ trên WeChat của khách đã đóng',
    reason_closed_without_fallback: 'cửa sổ 48 giờ đã đóng và chưa cấu hình mẫu ZNS dự phòng',
    reason_unreachable: 'không có OpenID WeChat, cũng không có số điện thoại cho mẫu ZNS dự phòng',
    st_open: 'mở', st_pending: 'đang chờ', st_resolved: 'đã giải quyết', st_closed: 'đã đóng', st_processed: 'đã xử lý', st_reopened: 'mở lại',
    st_delivered: 'đã gửi', st_dead: 'thất bại', st_retrying: 'đang thử lại', st_sending: 'đang gửi', st_paid: 'đã thanh toán', st_refunded: 'đã hoàn tiền',
  },
};

export const LANGUAGES = [['zh-CN', '中文'], ['vi', 'Tiếng Việt'], ['en', 'English']];
const KEY = 'kefu.lang';

export function initialLanguage() {
  const chosen = localStorage.getItem(KEY);
  if (chosen && STRINGS[chosen]) return chosen;
  for (const lang of navigator.languages ?? [navigator.language]) {
    if (lang.startsWith('zh')) return 'zh-CN';
    if (lang.startsWith('vi')) return 'vi';
    if (lang.startsWith('en')) return 'en';
  }
  return 'en';
}

export function remember(lang) {
  localStorage.setItem(KEY, lang);
}

// A translator for one language; a key missing there falls back to English, then to itself.
export function translator(lang) {
  return (key) => STRINGS[lang]?.[key] ?? STRINGS.en[key] ?? key;
}

// The lines kefu-edge itself writes on a timeline, by their English form; what they quote (a
// customer's text, a reason from a platform) is kept as it is.
const TIMELINE = [
  [/^reply via WeChat: ([\s\S]*)$/, 'tl_reply_wechat'],
  [/^reply via Zalo ZNS: ([\s\S]*)$/, 'tl_reply_zns'],
  [/^assigned to (.*)$/, 'tl_assigned'],
  [/^unassigned$/, 'tl_unassigned'],
  [/^resolved$/, 'tl_resolved'],
  [/^closed$/, 'tl_closed'],
  [/^reopened$/, 'tl_reopened'],
  [/^sent to the customer: ([\s\S]*)$/, 'tl_sent'],
  [/^complaint (\S+) resolved by (.+?); message to the customer: ([\s\S]*)$/, 'tl_complaint_resolved_msg'],
  [/^complaint (\S+) resolved by (.+)$/, 'tl_complaint_resolved'],
  [/^WeChat Pay told complaint (\S+) was handled$/, 'tl_payfeedback_told'],
  [/^staff alerted$/, 'tl_staff_alerted'],
  [/^not delivered: ([\s\S]*)$/, 'tl_not_delivered'],
  [/^ZNS template (\d+) sent to (.*)$/, 'tl_zns_sent'],
];

// A timeline line in the page's language, when kefu-edge wrote it; any other line as it is.
export function timelineText(body, t, kind) {
  if (kind === 'inbound') return body;
  for (const [pattern, key] of TIMELINE) {
    const m = pattern.exec(body);
    if (m) return t(key).replace(/\{(\d)\}/g, (_, n) => m[Number(n)] ?? '');
  }
  return body;
}

export const KEYS = Object.keys(STRINGS.en);
export const ALL = STRINGS;
