// Every string of the page in its three languages (a test checks that each language has every
// key), and the translation of the lines kefu-edge itself writes (timeline entries, rule
// validation errors), which the API sends in English. What a line quotes (a customer's words, a
// platform's error) is kept as it came. The language comes from the browser until the agent
// picks one, which is remembered in localStorage.

const en = {
  // the page
  title: 'kefu-edge', subtitle: 'customer service',
  signIn: 'Sign in', signOut: 'Sign out', signingIn: 'Signing in…',
  tokenLabel: 'Token', tokenHelp: 'ADMIN_TOKEN, or your own staff token. It is kept in this tab only and cleared when you sign out or close the tab.',
  wrongToken: 'This token is not accepted.', sessionEnded: 'Your token is no longer accepted. Sign in again.',
  language: 'Language', signedInAs: 'Signed in as {1}', timeZone: 'Times in {1}',
  role_agent: 'agent', role_lead: 'lead', role_owner: 'owner',
  err_forbidden: 'Your role cannot do this: it needs the {1} role.',
  err_idempotency_key_reused: 'This was already sent with different content. Reload and try again.',
  rulesConflict: 'Someone saved the rules after you opened them. Reload them, then make your change again.', reloadRules: 'Reload the rules',
  rulesReadOnly: 'Only the owner can change the rules.',
  queue: 'Queue', complaints: 'Complaints', orders: 'Orders', deliveries: 'Deliveries', rules: 'Rules', stats: 'Stats',
  loading: 'Loading…', refresh: 'Refresh', updatedAt: 'Updated {1}', back: '← Back', none: 'none', any: 'All',
  cancel: 'Cancel', save: 'Save', saved: 'Saved.', done: 'Done.', yes: 'yes', no: 'no', unknown: 'unknown',
  // errors, by the API's code
  err_network: 'kefu-edge cannot be reached. Check the connection and try again.',
  err_unauthenticated: 'This token is not accepted.',
  err_not_found: 'Not found.',
  err_conflict: 'Not possible now: it changed meanwhile or its state does not allow this. Look at it again.',
  err_malformed: 'Refused as invalid.',
  err_missing_setting: 'The Worker lacks a setting: {1}.',
  err_misconfigured: 'A setting of the Worker is wrong.',
  err_unavailable: 'kefu-edge cannot reach its storage right now. Try again in a moment.',
  err_other: 'Something went wrong (HTTP {1}).',
  errDetail: 'Details',
  // queue
  status: 'Status', channel: 'Channel', category: 'Category', priority: 'Priority', assignee: 'Assignee',
  mine: 'Mine', filters: 'Filters', ticketCount: '{1} tickets', noTickets: 'No tickets match.',
  customer: 'Customer', due: 'Due', dueNone: 'no deadline', left: '{1} left', breachedAgo: 'breached {1} ago',
  due_first_response: 'First response', due_resolution: 'Resolution', lastChange: 'Last change',
  // ticket
  ticket: 'Ticket', timeline: 'Conversation and history', noTimeline: 'Nothing on the timeline yet.',
  reply: 'Reply to the customer', replyPlaceholder: 'Write a reply…', send: 'Send', sending: 'Sending…',
  replyVia: 'Goes by {1}', replyBytes: '{1} / {2} bytes', replyTooLong: 'Too long: at most {1} bytes.',
  replyQueued: 'Reply queued for {1}; its outcome appears on the timeline.', replyNoChannel: 'No channel reaches this customer, so a reply cannot be sent.',
  sendHint: 'Ctrl+Enter sends',
  actions: 'Actions', assign: 'Assign', assignToMe: 'Assign to me', unassign: 'Unassign', assignTo: 'Assign to (name)',
  resolve: 'Resolve', close: 'Close', reopen: 'Reopen',
  order: 'Order', product: 'Product', amount: 'Amount', paidAt: 'Paid', deliveredAt: 'Delivered', deliverBy: 'Deliver by',
  notDelivered: 'not delivered', phone: 'Phone', email: 'Email', openid: 'WeChat OpenID', zaloUser: 'Zalo user ID', name: 'Name',
  createdAt: 'Opened', firstResponseAt: 'First response', resolvedAt: 'Resolved', caresoftTicket: 'CareSoft ticket',
  linkedComplaints: 'Complaints', details: 'Details',
  kind_inbound: 'Customer', kind_agent: 'Agent', kind_outbound: 'Sent', kind_status: 'Status', kind_complaint: 'Complaint',
  outcome_ok: 'delivered', outcome_failed: 'failed',
  channel_wechat: 'WeChat', channel_zns: 'Zalo ZNS', channel_none: 'no channel', channel_wechat_shop: 'WeChat Shop', channel_zalo: 'Zalo OA',
  reason_window_open: 'the customer\'s window is open',
  reason_sends_used: 'the messages the window allows are used, and they have a phone for the ZNS fallback template',
  reason_sends_used_without_fallback: 'the 5 messages the window allows are used until the customer writes again, and there is no ZNS fallback',
  reason_not_on_this_channel: 'the customer\'s channel cannot carry this message',
  reason_missing_setting: 'replies on this channel need a setting that is not set (see the README)',
  windowUntil: 'Window open until', windowUnknown: 'No message from the customer is recorded: WeChat decides (at most {1} messages).',
  sendsLeft: '{1} messages left', replyKind: 'Send', replyKind_text: 'Text', replyKind_product: 'Product card', replyKind_order: 'Order card',
  productIdPlaceholder: 'Product ID (digits)', orderIdPlaceholder: 'Order ID (digits)',
  showPicture: 'Show the picture', customerPicture: 'The customer\'s picture', pictureNotImage: 'The platform sent something other than a picture.',
  zaloWindow: 'Zalo window open until {1}; free replies left: {2}',
  reason_window_may_be_open: 'the customer\'s 48-hour WeChat window may be open',
  reason_no_openid: 'the customer has no WeChat OpenID, and has a phone for the ZNS fallback template',
  reason_window_closed: 'the customer\'s window is closed, and they have a phone for the ZNS fallback template',
  reason_closed_without_fallback: 'the customer\'s window is closed and there is no ZNS fallback',
  reason_unreachable: 'no WeChat OpenID, and no phone with a ZNS fallback template',
  // message types on the timeline
  mt_image: 'Image', mt_voice: 'Voice', mt_video: 'Video', mt_videoSecs: 'Video, {1} s', mt_shortvideo: 'Short video',
  mt_location: 'Location', mt_link: 'Link', mt_file: 'File', mt_miniprogram: 'Mini program', mt_product: 'Shared product',
  mt_order: 'Shared order', mt_unknown: 'Unknown type', mt_other: 'Type {1}', mt_unsupported: 'a message type kefu-edge does not read',
  mt_noTranscription: '(no transcription)',
  // card-shop events
  'ev_order.paid': 'Order paid', 'ev_order.delivered': 'Order delivered', 'ev_order.delivery_failed': 'Delivery failed',
  'ev_order.delayed': 'Order delayed', 'ev_card.invalid': 'Invalid card', 'ev_refund.requested': 'Refund requested',
  'ev_refund.succeeded': 'Refund succeeded', 'ev_ticket.submitted': 'Problem reported', 'ev_ticket.resolved': 'Ticket resolved',
  // who wrote a line that no person wrote
  actor_card_shop: 'card shop', actor_wechat_pay: 'WeChat Pay', actor_caresoft_zns: 'CareSoft ZNS', actor_wecom_robot: 'WeCom robot',
  actor_wechat_custom_send: 'WeChat customer service', actor_payfeedback_update: 'WeChat Pay complaints', actor_agent: 'an agent',
  // lines kefu-edge writes on a timeline
  tl_reply_wechat: 'Reply via WeChat: {1}', tl_reply_zns: 'Reply via Zalo ZNS: {1}', tl_reply_shop: 'Reply via WeChat Shop: {1}', tl_assigned: 'Assigned to {1}', tl_unassigned: 'Unassigned',
  tl_resolved: 'Resolved', tl_closed: 'Closed', tl_reopened: 'Reopened',
  tl_session_taken: 'Session taken by {1}', tl_session_moved: 'Session moved from {1} to {2}', tl_session_closed: 'Session closed by {1}',
  tl_sent: 'Sent to the customer: {1}', tl_sent_kind: 'Sent to the customer: a {1} message',
  tl_reply_zalo: 'Reply via Zalo OA: {1}', tl_sent_zalo: 'Sent to the customer on Zalo: {1}',
  tl_zalo_delivered: 'Delivered to the customer', tl_zalo_seen: 'Seen by the customer',
  tl_zalo_follow: 'Followed the Official Account', tl_zalo_unfollow: 'Unfollowed the Official Account',
  tl_complaint_resolved_msg: 'Complaint {1} resolved by {2}; message to the customer: {3}',
  tl_complaint_resolved_kind: 'Complaint {1} resolved by {2}; a {3} message to the customer',
  tl_complaint_resolved: 'Complaint {1} resolved by {2}',
  tl_complaint_opened: 'Complaint {1} opened: {2}', tl_complaint_opened_asks: 'Complaint {1} opened: {2} (asks for: {3})',
  tl_no_reason: 'no reason given',
  tl_complaint_confirmed: 'Complaint {1}: the customer confirmed the handling; closed',
  tl_complaint_rejected: 'Complaint {1}: the customer rejected the handling; reopened and escalated',
  tl_complaint_stale: 'Complaint {1}: an older “{2}” notification came after a newer one and was ignored',
  tl_payfeedback_told: 'WeChat Pay told that complaint {1} was handled', tl_staff_alerted: 'Staff alerted in the WeCom group',
  tl_not_delivered: 'Not delivered: {1}', tl_not_delivered_zns: 'Not delivered: {1}; sent by ZNS instead',
  tl_zns_sent: 'ZNS template {1} sent to {2}', tl_zns_sent_caresoft: 'ZNS template {1} sent to {2} (CareSoft ticket {3})',
  tl_zns_not_sent: 'ZNS template {1} not sent: {2}', tl_zns_requested: 'ZNS template {1} to {2} requested',
  tl_refund_succeeded: 'Refund succeeded',
  // ticket, complaint, order and delivery states; channels, categories, priorities
  ts_open: 'open', ts_pending: 'pending', ts_resolved: 'resolved', ts_closed: 'closed',
  cs_open: 'waiting', cs_processed: 'processed', cs_closed: 'closed', cs_reopened: 'rejected, reopened',
  os_paid: 'paid', os_delivered: 'delivered', os_delivery_failed: 'delivery failed', os_delayed: 'delayed',
  os_refund_requested: 'refund requested', os_refunded: 'refunded',
  ds_pending: 'waiting', ds_sending: 'sending', ds_retrying: 'retrying', ds_delivered: 'delivered', ds_dead: 'gave up',
  ch_oa: 'Official Account', ch_shop: 'WeChat Shop', ch_payfeedback: 'WeChat Pay complaint', ch_orders: 'Card shop', ch_zalo: 'Zalo OA',
  cat_general: 'general', cat_not_delivered: 'not delivered', cat_invalid_card: 'invalid card', cat_delayed: 'delayed', cat_refund: 'refund', cat_complaint: 'complaint',
  pr_normal: 'normal', pr_high: 'high', pr_urgent: 'urgent',
  // complaints
  feedbackId: 'Complaint', deadline: 'Legal deadline', openedAt: 'Opened', reason: 'Reason', solution: 'Asks for',
  goods: 'Goods', goods_virtual: 'virtual', goods_physical: 'physical', delivered: 'Delivered',
  quarterLeft: 'Less than a quarter of the time left', overdue: 'Overdue', escalated: 'Rejected by the customer',
  escalatedHelp: 'The customer rejected the handling and may ask WeChat to arbitrate. Handle it first.',
  resolveComplaint: 'Resolve complaint {1}', messageOptional: 'Message to the customer (optional)',
  messageHelp: 'Sent to the customer on WeChat. WeChat Pay is then told the complaint was handled.',
  complaintResolved: 'Complaint {1} marked processed; WeChat Pay is being told.', noComplaints: 'No complaints.',
  pictures: 'Pictures', transId: 'WeChat Pay transaction', closedAt: 'Closed', picture: 'picture {1}',
  // orders
  noOrders: 'No orders.', events: 'Events', tickets: 'Tickets', deliveryOverdue: 'delivery overdue', noneYet: 'None.',
  // deliveries
  deadLetters: 'Dead letters', deadLettersHelp: 'What kefu-edge gave up on, with the reason. Fix the cause, then put it back in line.',
  noDeadLetters: 'No dead letters.', noDeliveries: 'No deliveries.', replay: 'Replay', replayed: 'Dead letter #{1} is back in line.',
  replayedAt: 'replayed {1}', attempts: 'Attempts', target: 'To', lastResult: 'Last result', state: 'State',
  src_delivery: 'delivery', src_queue: 'queue message', forTicket: 'ticket #{1}',
  // rules
  rulesHelp: 'What kefu-edge does by itself: FAQ auto-replies, routing to agents, Zalo ZNS templates on card-shop events, and the ZNS template that carries a reply WeChat cannot.',
  sec_faq: 'FAQ auto-replies', sec_routes: 'Routing', sec_zns: 'ZNS rules', sec_zns_fallback: 'ZNS fallback',
  help_faq: 'A customer\'s text containing a keyword gets this reply at once. With a category, the reply is also sent for every card-shop problem of that category.',
  help_routes: 'A customer\'s text with a keyword, or a card-shop problem of the category, goes to the first free agent listed.',
  help_zns: 'A ZNS template sent to the customer\'s phone when the event happens. Parameters may use {order.id}, {customer.name}, {message}, …',
  help_zns_fallback: 'The template that carries a message when WeChat cannot reach the customer; {text} is the message.',
  keywords: 'Keywords (one per line)', replyText: 'Reply', noCategory: '(none)', kfAccounts: 'Agents, name@account (one per line)',
  on: 'When', templateId: 'Template ID', params: 'Parameters', paramName: 'name', paramValue: 'value', addParam: 'Add parameter',
  addRule: 'Add', removeRule: 'Remove', useFallback: 'Use a fallback template', editJson: 'Edit as JSON', editForms: 'Edit as forms',
  jsonInvalid: 'Not valid JSON: {1}', ruleNumber: '#{1}', rulesDoc: 'Rules document',
  re_keywords: '{1}: keywords must be non-empty', re_reply: '{1}: the reply must be 1 to {2} bytes',
  re_needs: '{1}: needs keywords or a category', re_kf: '{1}: agents must be written as name@account',
  re_on: '{1}: “When” must be one of {2}', re_template: '{1}: the template ID must be a positive whole number',
  re_placeholder: '{1}: unknown placeholder {2}; known: {3}', re_category: '{1}: the category must be one of {2}',
  re_invalid: 'The rules were refused: {1}',
  // stats
  statsHelp: 'The last {1} days, in {2}.', ticketsPerDay: 'Tickets opened per day', responseTimes: 'Response times (minutes)',
  frAvg: 'First response, average', frP90: 'First response, p90', resAvg: 'Resolution, average', resP90: 'Resolution, p90',
  slaBreaches: 'SLA breaches', resolutionRate: 'Resolution rate', complaintsByOutcome: 'Complaints by outcome',
  byChannelCategory: 'By channel and category', opened: 'Opened', noData: 'No data yet.', ticketsByStatus: 'Tickets now',
  minutes: 'minutes', perCent: '%',
  // durations
  u_d: 'd', u_h: 'h', u_m: 'm', u_s: 's', u_sep: ' ',
};

const zh = {
  title: 'kefu-edge', subtitle: '客服工作台',
  signIn: '登录', signOut: '退出登录', signingIn: '正在登录…',
  tokenLabel: '令牌', tokenHelp: 'ADMIN_TOKEN 或你自己的客服令牌。只保存在当前标签页，退出登录或关闭标签页即清除。',
  wrongToken: '令牌无效。', sessionEnded: '你的令牌已失效，请重新登录。',
  language: '语言', signedInAs: '当前登录：{1}', timeZone: '时间按 {1}',
  role_agent: '客服', role_lead: '高级客服', role_owner: '管理员',
  err_forbidden: '您的角色无权执行此操作：需要“{1}”角色。',
  err_idempotency_key_reused: '此操作已用不同的内容提交过。请刷新后重试。',
  rulesConflict: '在您打开规则后，有人保存了规则。请重新加载规则，然后再次修改。', reloadRules: '重新加载规则',
  rulesReadOnly: '只有管理员可以修改规则。',
  queue: '工单队列', complaints: '维权投诉', orders: '订单', deliveries: '发送记录', rules: '规则', stats: '统计',
  loading: '加载中…', refresh: '刷新', updatedAt: '更新于 {1}', back: '← 返回', none: '无', any: '全部',
  cancel: '取消', save: '保存', saved: '已保存。', done: '已完成。', yes: '是', no: '否', unknown: '未知',
  err_network: '无法连接 kefu-edge，请检查网络后重试。',
  err_unauthenticated: '令牌无效。',
  err_not_found: '未找到。',
  err_conflict: '现在无法执行：它刚刚被更改，或当前状态不允许此操作。请重新查看。',
  err_malformed: '请求无效，被拒绝。',
  err_missing_setting: 'Worker 缺少设置：{1}。',
  err_misconfigured: 'Worker 的某项设置有误。',
  err_unavailable: 'kefu-edge 暂时无法访问存储，请稍后重试。',
  err_other: '出错了（HTTP {1}）。',
  errDetail: '详情',
  status: '状态', channel: '渠道', category: '类别', priority: '优先级', assignee: '负责人',
  mine: '我的', filters: '筛选', ticketCount: '{1} 个工单', noTickets: '没有符合条件的工单。',
  customer: '客户', due: '时限', dueNone: '无时限', left: '剩余 {1}', breachedAgo: '已超时 {1}',
  due_first_response: '首次响应', due_resolution: '解决', lastChange: '最近更新',
  ticket: '工单', timeline: '对话与记录', noTimeline: '暂无记录。',
  reply: '回复客户', replyPlaceholder: '输入回复…', send: '发送', sending: '正在发送…',
  replyVia: '通过{1}发送', replyBytes: '{1} / {2} 字节', replyTooLong: '太长了：最多 {1} 字节。',
  replyQueued: '回复已排队，将通过{1}发送；结果会显示在时间线上。', replyNoChannel: '没有可以联系到该客户的渠道，无法发送回复。',
  sendHint: 'Ctrl+Enter 发送',
  actions: '操作', assign: '分配', assignToMe: '分配给我', unassign: '取消分配', assignTo: '分配给（名字）',
  resolve: '解决', close: '关闭', reopen: '重新打开',
  order: '订单', product: '商品', amount: '金额', paidAt: '付款时间', deliveredAt: '发货时间', deliverBy: '最晚发货',
  notDelivered: '未发货', phone: '手机号', email: '邮箱', openid: '微信 OpenID', zaloUser: 'Zalo 用户 ID', name: '姓名',
  createdAt: '创建时间', firstResponseAt: '首次响应', resolvedAt: '解决时间', caresoftTicket: 'CareSoft 工单',
  linkedComplaints: '维权投诉', details: '详情',
  kind_inbound: '客户', kind_agent: '客服', kind_outbound: '已发送', kind_status: '状态', kind_complaint: '投诉',
  outcome_ok: '已送达', outcome_failed: '失败',
  channel_wechat: '微信', channel_zns: 'Zalo ZNS', channel_none: '无可用渠道', channel_wechat_shop: '微信小店', channel_zalo: 'Zalo 官方账号',
  reason_window_open: '客户的回复窗口开放中',
  reason_sends_used: '窗口允许的消息条数已用完，客户有手机号可用 ZNS 备用模板',
  reason_sends_used_without_fallback: '窗口允许的 5 条消息已用完，需等客户再次发消息，且未配置 ZNS 备用模板',
  reason_not_on_this_channel: '客户所在渠道无法发送此类消息',
  reason_missing_setting: '此渠道的回复缺少必需的设置（见 README）',
  windowUntil: '窗口开放至', windowUnknown: '没有客户消息记录：由微信判断（最多 {1} 条）。',
  sendsLeft: '还可发 {1} 条', replyKind: '发送', replyKind_text: '文字', replyKind_product: '商品卡片', replyKind_order: '订单卡片',
  productIdPlaceholder: '商品 ID（数字）', orderIdPlaceholder: '订单 ID（数字）',
  showPicture: '查看图片', customerPicture: '客户发送的图片', pictureNotImage: '平台返回的不是图片。',
  zaloWindow: 'Zalo 窗口开放至 {1}；剩余免费回复：{2}',
  reason_window_may_be_open: '客户的 48 小时微信客服窗口可能仍开放',
  reason_no_openid: '客户没有微信 OpenID，但有手机号可用 ZNS 备用模板',
  reason_window_closed: '客户的回复窗口已关闭，但有手机号可用 ZNS 备用模板',
  reason_closed_without_fallback: '客户的回复窗口已关闭且未配置 ZNS 备用模板',
  reason_unreachable: '没有微信 OpenID，也没有可用于 ZNS 备用模板的手机号',
  mt_image: '图片', mt_voice: '语音', mt_video: '视频', mt_videoSecs: '视频，{1} 秒', mt_shortvideo: '小视频',
  mt_location: '位置', mt_link: '链接', mt_file: '文件', mt_miniprogram: '小程序', mt_product: '分享的商品',
  mt_order: '分享的订单', mt_unknown: '未知类型', mt_other: '类型 {1}', mt_unsupported: 'kefu-edge 无法读取的消息类型',
  mt_noTranscription: '（无语音识别文字）',
  'ev_order.paid': '订单已付款', 'ev_order.delivered': '订单已发货', 'ev_order.delivery_failed': '发货失败',
  'ev_order.delayed': '订单延迟', 'ev_card.invalid': '卡密无效', 'ev_refund.requested': '申请退款',
  'ev_refund.succeeded': '退款成功', 'ev_ticket.submitted': '客户提交问题', 'ev_ticket.resolved': '工单已解决',
  actor_card_shop: '发卡平台', actor_wechat_pay: '微信支付', actor_caresoft_zns: 'CareSoft ZNS', actor_wecom_robot: '企业微信群机器人',
  actor_wechat_custom_send: '微信客服消息', actor_payfeedback_update: '微信支付维权接口', actor_agent: '客服',
  tl_reply_wechat: '通过微信回复：{1}', tl_reply_zns: '通过 Zalo ZNS 回复：{1}', tl_reply_shop: '通过微信小店回复：{1}', tl_assigned: '分配给 {1}', tl_unassigned: '取消分配',
  tl_resolved: '已解决', tl_closed: '已关闭', tl_reopened: '已重新打开',
  tl_session_taken: '{1} 接入会话', tl_session_moved: '会话从 {1} 转给 {2}', tl_session_closed: '{1} 结束会话',
  tl_sent: '已发送给客户：{1}', tl_sent_kind: '已发送给客户：一条{1}消息',
  tl_reply_zalo: '通过 Zalo 官方账号回复：{1}', tl_sent_zalo: '已通过 Zalo 发送给客户：{1}',
  tl_zalo_delivered: '客户已收到', tl_zalo_seen: '客户已读',
  tl_zalo_follow: '关注了官方账号', tl_zalo_unfollow: '取消关注官方账号',
  tl_complaint_resolved_msg: '投诉 {1} 已由 {2} 处理；给客户的消息：{3}',
  tl_complaint_resolved_kind: '投诉 {1} 已由 {2} 处理；给客户发送了一条{3}消息',
  tl_complaint_resolved: '投诉 {1} 已由 {2} 处理',
  tl_complaint_opened: '投诉 {1} 已创建：{2}', tl_complaint_opened_asks: '投诉 {1} 已创建：{2}（诉求：{3}）',
  tl_no_reason: '未说明原因',
  tl_complaint_confirmed: '投诉 {1}：客户确认处理结果，已关闭',
  tl_complaint_rejected: '投诉 {1}：客户拒绝处理结果，已重开并升级',
  tl_complaint_stale: '投诉 {1}：较早的“{2}”通知晚于较新的通知到达，已忽略',
  tl_payfeedback_told: '已通知微信支付：投诉 {1} 已处理', tl_staff_alerted: '已在企业微信群提醒客服',
  tl_not_delivered: '发送失败：{1}', tl_not_delivered_zns: '发送失败：{1}；已改用 ZNS 发送',
  tl_zns_sent: 'ZNS 模板 {1} 已发送至 {2}', tl_zns_sent_caresoft: 'ZNS 模板 {1} 已发送至 {2}（CareSoft 工单 {3}）',
  tl_zns_not_sent: 'ZNS 模板 {1} 未发送：{2}', tl_zns_requested: '已请求向 {2} 发送 ZNS 模板 {1}',
  tl_refund_succeeded: '退款成功',
  ts_open: '待处理', ts_pending: '等待中', ts_resolved: '已解决', ts_closed: '已关闭',
  cs_open: '待处理', cs_processed: '已处理', cs_closed: '已关闭', cs_reopened: '被拒绝，已重开',
  os_paid: '已付款', os_delivered: '已发货', os_delivery_failed: '发货失败', os_delayed: '延迟',
  os_refund_requested: '申请退款', os_refunded: '已退款',
  ds_pending: '待发送', ds_sending: '发送中', ds_retrying: '重试中', ds_delivered: '已送达', ds_dead: '已放弃',
  ch_oa: '公众号', ch_shop: '微信小店', ch_payfeedback: '微信支付维权', ch_orders: '发卡平台', ch_zalo: 'Zalo 官方账号',
  cat_general: '一般', cat_not_delivered: '未发货', cat_invalid_card: '卡密无效', cat_delayed: '延迟', cat_refund: '退款', cat_complaint: '投诉',
  pr_normal: '普通', pr_high: '高', pr_urgent: '紧急',
  feedbackId: '投诉', deadline: '法定处理期限', openedAt: '投诉时间', reason: '原因', solution: '诉求',
  goods: '商品类型', goods_virtual: '虚拟', goods_physical: '实物', delivered: '已发货',
  quarterLeft: '剩余时间不足四分之一', overdue: '已逾期', escalated: '客户拒绝处理结果',
  escalatedHelp: '客户拒绝了处理结果，可能申请微信介入仲裁。请优先处理。',
  resolveComplaint: '处理投诉 {1}', messageOptional: '给客户的消息（可选）',
  messageHelp: '通过微信发给客户，随后通知微信支付该投诉已处理。',
  complaintResolved: '投诉 {1} 已标记为已处理，正在通知微信支付。', noComplaints: '没有投诉。',
  pictures: '图片', transId: '微信支付交易单号', closedAt: '关闭时间', picture: '图片 {1}',
  noOrders: '没有订单。', events: '事件', tickets: '工单', deliveryOverdue: '发货已超时', noneYet: '无。',
  deadLetters: '死信', deadLettersHelp: 'kefu-edge 放弃发送的内容及原因。排除原因后，可重新排队发送。',
  noDeadLetters: '没有死信。', noDeliveries: '没有发送记录。', replay: '重新发送', replayed: '死信 #{1} 已重新排队。',
  replayedAt: '已于 {1} 重新发送', attempts: '尝试次数', target: '发往', lastResult: '最近结果', state: '状态',
  src_delivery: '发送', src_queue: '队列消息', forTicket: '工单 #{1}',
  rulesHelp: 'kefu-edge 自动完成的事：常见问题自动回复、分配给客服、发卡平台事件触发的 Zalo ZNS 模板，以及微信无法送达时承载回复的 ZNS 模板。',
  sec_faq: '常见问题自动回复', sec_routes: '分配规则', sec_zns: 'ZNS 规则', sec_zns_fallback: 'ZNS 备用模板',
  help_faq: '客户消息包含关键词时立即回复此内容。设置类别后，该类别的每个发卡平台问题也会发送此回复。',
  help_routes: '包含关键词的客户消息或该类别的发卡平台问题，分配给列表中第一位空闲的客服。',
  help_zns: '事件发生时向客户手机发送的 ZNS 模板。参数可使用 {order.id}、{customer.name}、{message} 等。',
  help_zns_fallback: '微信无法联系客户时承载消息的模板；{text} 即消息内容。',
  keywords: '关键词（每行一个）', replyText: '回复内容', noCategory: '（无）', kfAccounts: '客服账号，名字@账号（每行一个）',
  on: '触发事件', templateId: '模板 ID', params: '参数', paramName: '名称', paramValue: '值', addParam: '添加参数',
  addRule: '添加', removeRule: '删除', useFallback: '使用备用模板', editJson: '以 JSON 编辑', editForms: '以表单编辑',
  jsonInvalid: 'JSON 格式错误：{1}', ruleNumber: '第 {1} 条', rulesDoc: '规则文档',
  re_keywords: '{1}：关键词不能为空', re_reply: '{1}：回复内容须为 1 到 {2} 字节',
  re_needs: '{1}：需要关键词或类别', re_kf: '{1}：客服账号须写成 名字@账号',
  re_on: '{1}：“触发事件”须为以下之一：{2}', re_template: '{1}：模板 ID 须为正整数',
  re_placeholder: '{1}：未知占位符 {2}；可用：{3}', re_category: '{1}：类别须为以下之一：{2}',
  re_invalid: '规则被拒绝：{1}',
  statsHelp: '最近 {1} 天，按 {2} 时间。', ticketsPerDay: '每日新建工单', responseTimes: '响应用时（分钟）',
  frAvg: '首次响应 平均', frP90: '首次响应 P90', resAvg: '解决 平均', resP90: '解决 P90',
  slaBreaches: 'SLA 超时', resolutionRate: '解决率', complaintsByOutcome: '投诉处理结果',
  byChannelCategory: '按渠道和类别', opened: '新建', noData: '暂无数据。', ticketsByStatus: '当前工单',
  minutes: '分钟', perCent: '%',
  u_d: '天', u_h: '小时', u_m: '分', u_s: '秒', u_sep: '',
};

const vi = {
  title: 'kefu-edge', subtitle: 'chăm sóc khách hàng',
  signIn: 'Đăng nhập', signOut: 'Đăng xuất', signingIn: 'Đang đăng nhập…',
  tokenLabel: 'Mã truy cập', tokenHelp: 'ADMIN_TOKEN, hoặc mã nhân viên của riêng bạn. Mã chỉ được giữ trong thẻ này và bị xóa khi bạn đăng xuất hoặc đóng thẻ.',
  wrongToken: 'Mã truy cập không được chấp nhận.', sessionEnded: 'Mã truy cập của bạn không còn hiệu lực. Hãy đăng nhập lại.',
  language: 'Ngôn ngữ', signedInAs: 'Đang đăng nhập: {1}', timeZone: 'Giờ theo {1}',
  role_agent: 'nhân viên', role_lead: 'trưởng nhóm', role_owner: 'chủ cửa hàng',
  err_forbidden: 'Vai trò của bạn không làm được việc này: cần vai trò {1}.',
  err_idempotency_key_reused: 'Yêu cầu này đã được gửi với nội dung khác. Hãy tải lại rồi thử lại.',
  rulesConflict: 'Có người đã lưu quy tắc sau khi bạn mở chúng. Hãy tải lại quy tắc rồi sửa lại.', reloadRules: 'Tải lại quy tắc',
  rulesReadOnly: 'Chỉ chủ cửa hàng mới sửa được quy tắc.',
  queue: 'Hàng đợi', complaints: 'Khiếu nại', orders: 'Đơn hàng', deliveries: 'Lượt gửi', rules: 'Quy tắc', stats: 'Thống kê',
  loading: 'Đang tải…', refresh: 'Làm mới', updatedAt: 'Cập nhật lúc {1}', back: '← Quay lại', none: 'không có', any: 'Tất cả',
  cancel: 'Hủy', save: 'Lưu', saved: 'Đã lưu.', done: 'Xong.', yes: 'có', no: 'không', unknown: 'không rõ',
  err_network: 'Không kết nối được kefu-edge. Hãy kiểm tra mạng rồi thử lại.',
  err_unauthenticated: 'Mã truy cập không được chấp nhận.',
  err_not_found: 'Không tìm thấy.',
  err_conflict: 'Hiện không thể thực hiện: mục này vừa thay đổi hoặc trạng thái không cho phép. Hãy xem lại.',
  err_malformed: 'Yêu cầu không hợp lệ nên bị từ chối.',
  err_missing_setting: 'Worker thiếu một thiết lập: {1}.',
  err_misconfigured: 'Một thiết lập của Worker bị sai.',
  err_unavailable: 'kefu-edge tạm thời không truy cập được kho dữ liệu. Hãy thử lại sau ít phút.',
  err_other: 'Đã xảy ra lỗi (HTTP {1}).',
  errDetail: 'Chi tiết',
  status: 'Trạng thái', channel: 'Kênh', category: 'Loại', priority: 'Ưu tiên', assignee: 'Người phụ trách',
  mine: 'Của tôi', filters: 'Bộ lọc', ticketCount: '{1} phiếu', noTickets: 'Không có phiếu nào phù hợp.',
  customer: 'Khách hàng', due: 'Hạn', dueNone: 'không có hạn', left: 'còn {1}', breachedAgo: 'quá hạn {1}',
  due_first_response: 'Phản hồi đầu', due_resolution: 'Giải quyết', lastChange: 'Thay đổi gần nhất',
  ticket: 'Phiếu', timeline: 'Hội thoại và lịch sử', noTimeline: 'Chưa có gì trong dòng thời gian.',
  reply: 'Trả lời khách hàng', replyPlaceholder: 'Viết câu trả lời…', send: 'Gửi', sending: 'Đang gửi…',
  replyVia: 'Gửi qua {1}', replyBytes: '{1} / {2} byte', replyTooLong: 'Quá dài: tối đa {1} byte.',
  replyQueued: 'Câu trả lời đã vào hàng đợi để gửi qua {1}; kết quả sẽ hiện trên dòng thời gian.', replyNoChannel: 'Không có kênh nào tới được khách hàng này nên không thể gửi trả lời.',
  sendHint: 'Ctrl+Enter để gửi',
  actions: 'Thao tác', assign: 'Giao', assignToMe: 'Giao cho tôi', unassign: 'Bỏ giao', assignTo: 'Giao cho (tên)',
  resolve: 'Giải quyết', close: 'Đóng', reopen: 'Mở lại',
  order: 'Đơn hàng', product: 'Sản phẩm', amount: 'Số tiền', paidAt: 'Thanh toán', deliveredAt: 'Đã giao', deliverBy: 'Giao trước',
  notDelivered: 'chưa giao', phone: 'Điện thoại', email: 'Email', openid: 'OpenID WeChat', zaloUser: 'ID người dùng Zalo', name: 'Tên',
  createdAt: 'Mở lúc', firstResponseAt: 'Phản hồi đầu', resolvedAt: 'Giải quyết lúc', caresoftTicket: 'Phiếu CareSoft',
  linkedComplaints: 'Khiếu nại', details: 'Chi tiết',
  kind_inbound: 'Khách hàng', kind_agent: 'Nhân viên', kind_outbound: 'Đã gửi', kind_status: 'Trạng thái', kind_complaint: 'Khiếu nại',
  outcome_ok: 'đã gửi tới', outcome_failed: 'thất bại',
  channel_wechat: 'WeChat', channel_zns: 'Zalo ZNS', channel_none: 'không có kênh', channel_wechat_shop: 'WeChat Shop', channel_zalo: 'Zalo OA',
  reason_window_open: 'cửa sổ trả lời của khách đang mở',
  reason_sends_used: 'đã dùng hết số tin cửa sổ cho phép, khách có số điện thoại cho mẫu ZNS dự phòng',
  reason_sends_used_without_fallback: 'đã dùng hết 5 tin cửa sổ cho phép cho đến khi khách nhắn lại, và chưa có mẫu ZNS dự phòng',
  reason_not_on_this_channel: 'kênh của khách không gửi được loại tin này',
  reason_missing_setting: 'trả lời trên kênh này cần một thiết lập chưa được đặt (xem README)',
  windowUntil: 'Cửa sổ mở đến', windowUnknown: 'Chưa ghi nhận tin nào của khách: WeChat sẽ quyết định (tối đa {1} tin).',
  sendsLeft: 'còn {1} tin', replyKind: 'Gửi', replyKind_text: 'Văn bản', replyKind_product: 'Thẻ sản phẩm', replyKind_order: 'Thẻ đơn hàng',
  productIdPlaceholder: 'Mã sản phẩm (chữ số)', orderIdPlaceholder: 'Mã đơn hàng (chữ số)',
  showPicture: 'Xem ảnh', customerPicture: 'Ảnh khách gửi', pictureNotImage: 'Nền tảng không trả về ảnh.',
  zaloWindow: 'Cửa sổ Zalo mở đến {1}; còn {2} tin phản hồi miễn phí',
  reason_window_may_be_open: 'cửa sổ 48 giờ trên WeChat của khách có thể vẫn mở',
  reason_no_openid: 'khách hàng không có OpenID WeChat nhưng có số điện thoại cho mẫu ZNS dự phòng',
  reason_window_closed: 'cửa sổ trả lời của khách đã đóng, nhưng khách có số điện thoại cho mẫu ZNS dự phòng',
  reason_closed_without_fallback: 'cửa sổ trả lời của khách đã đóng và chưa có mẫu ZNS dự phòng',
  reason_unreachable: 'không có OpenID WeChat, cũng không có số điện thoại cho mẫu ZNS dự phòng',
  mt_image: 'Hình ảnh', mt_voice: 'Tin nhắn thoại', mt_video: 'Video', mt_videoSecs: 'Video, {1} giây', mt_shortvideo: 'Video ngắn',
  mt_location: 'Vị trí', mt_link: 'Liên kết', mt_file: 'Tệp', mt_miniprogram: 'Mini program', mt_product: 'Sản phẩm được chia sẻ',
  mt_order: 'Đơn hàng được chia sẻ', mt_unknown: 'Loại không rõ', mt_other: 'Loại {1}', mt_unsupported: 'loại tin nhắn kefu-edge không đọc được',
  mt_noTranscription: '(không có bản chép lời)',
  'ev_order.paid': 'Đơn đã thanh toán', 'ev_order.delivered': 'Đơn đã giao', 'ev_order.delivery_failed': 'Giao hàng thất bại',
  'ev_order.delayed': 'Đơn bị chậm', 'ev_card.invalid': 'Thẻ không hợp lệ', 'ev_refund.requested': 'Yêu cầu hoàn tiền',
  'ev_refund.succeeded': 'Hoàn tiền thành công', 'ev_ticket.submitted': 'Khách báo sự cố', 'ev_ticket.resolved': 'Phiếu đã giải quyết',
  actor_card_shop: 'shop bán thẻ', actor_wechat_pay: 'WeChat Pay', actor_caresoft_zns: 'CareSoft ZNS', actor_wecom_robot: 'robot nhóm WeCom',
  actor_wechat_custom_send: 'tin nhắn CSKH WeChat', actor_payfeedback_update: 'API khiếu nại WeChat Pay', actor_agent: 'nhân viên',
  tl_reply_wechat: 'Trả lời qua WeChat: {1}', tl_reply_zns: 'Trả lời qua Zalo ZNS: {1}', tl_reply_shop: 'Trả lời qua WeChat Shop: {1}', tl_assigned: 'Giao cho {1}', tl_unassigned: 'Bỏ giao',
  tl_resolved: 'Đã giải quyết', tl_closed: 'Đã đóng', tl_reopened: 'Đã mở lại',
  tl_session_taken: '{1} nhận phiên chat', tl_session_moved: 'Phiên chat chuyển từ {1} sang {2}', tl_session_closed: '{1} kết thúc phiên chat',
  tl_sent: 'Đã gửi cho khách: {1}', tl_sent_kind: 'Đã gửi cho khách một tin nhắn loại {1}',
  tl_reply_zalo: 'Trả lời qua Zalo OA: {1}', tl_sent_zalo: 'Đã gửi cho khách qua Zalo: {1}',
  tl_zalo_delivered: 'Khách đã nhận', tl_zalo_seen: 'Khách đã xem',
  tl_zalo_follow: 'Đã quan tâm Official Account', tl_zalo_unfollow: 'Đã bỏ quan tâm Official Account',
  tl_complaint_resolved_msg: 'Khiếu nại {1} đã được {2} xử lý; tin nhắn cho khách: {3}',
  tl_complaint_resolved_kind: 'Khiếu nại {1} đã được {2} xử lý; đã gửi cho khách một tin nhắn loại {3}',
  tl_complaint_resolved: 'Khiếu nại {1} đã được {2} xử lý',
  tl_complaint_opened: 'Khiếu nại {1} được mở: {2}', tl_complaint_opened_asks: 'Khiếu nại {1} được mở: {2} (yêu cầu: {3})',
  tl_no_reason: 'không nêu lý do',
  tl_complaint_confirmed: 'Khiếu nại {1}: khách xác nhận cách xử lý; đã đóng',
  tl_complaint_rejected: 'Khiếu nại {1}: khách từ chối cách xử lý; đã mở lại và nâng mức',
  tl_complaint_stale: 'Khiếu nại {1}: thông báo “{2}” cũ hơn đến sau thông báo mới hơn nên bị bỏ qua',
  tl_payfeedback_told: 'Đã báo WeChat Pay rằng khiếu nại {1} đã được xử lý', tl_staff_alerted: 'Đã báo nhân viên trong nhóm WeCom',
  tl_not_delivered: 'Gửi không thành công: {1}', tl_not_delivered_zns: 'Gửi không thành công: {1}; đã gửi bằng ZNS thay thế',
  tl_zns_sent: 'Đã gửi mẫu ZNS {1} tới {2}', tl_zns_sent_caresoft: 'Đã gửi mẫu ZNS {1} tới {2} (phiếu CareSoft {3})',
  tl_zns_not_sent: 'Chưa gửi mẫu ZNS {1}: {2}', tl_zns_requested: 'Đã yêu cầu gửi mẫu ZNS {1} tới {2}',
  tl_refund_succeeded: 'Hoàn tiền thành công',
  ts_open: 'mở', ts_pending: 'đang chờ', ts_resolved: 'đã giải quyết', ts_closed: 'đã đóng',
  cs_open: 'chờ xử lý', cs_processed: 'đã xử lý', cs_closed: 'đã đóng', cs_reopened: 'bị từ chối, mở lại',
  os_paid: 'đã thanh toán', os_delivered: 'đã giao', os_delivery_failed: 'giao thất bại', os_delayed: 'bị chậm',
  os_refund_requested: 'yêu cầu hoàn tiền', os_refunded: 'đã hoàn tiền',
  ds_pending: 'chờ gửi', ds_sending: 'đang gửi', ds_retrying: 'đang thử lại', ds_delivered: 'đã gửi tới', ds_dead: 'đã bỏ cuộc',
  ch_oa: 'Official Account', ch_shop: 'WeChat Shop', ch_payfeedback: 'Khiếu nại WeChat Pay', ch_orders: 'Shop bán thẻ', ch_zalo: 'Zalo OA',
  cat_general: 'chung', cat_not_delivered: 'chưa giao', cat_invalid_card: 'thẻ không hợp lệ', cat_delayed: 'chậm trễ', cat_refund: 'hoàn tiền', cat_complaint: 'khiếu nại',
  pr_normal: 'thường', pr_high: 'cao', pr_urgent: 'khẩn cấp',
  feedbackId: 'Khiếu nại', deadline: 'Hạn xử lý theo quy định', openedAt: 'Mở lúc', reason: 'Lý do', solution: 'Yêu cầu',
  goods: 'Loại hàng', goods_virtual: 'hàng số', goods_physical: 'hàng vật lý', delivered: 'Đã giao',
  quarterLeft: 'Còn chưa tới một phần tư thời gian', overdue: 'Quá hạn', escalated: 'Khách từ chối cách xử lý',
  escalatedHelp: 'Khách đã từ chối cách xử lý và có thể yêu cầu WeChat phân xử. Hãy xử lý trước tiên.',
  resolveComplaint: 'Xử lý khiếu nại {1}', messageOptional: 'Tin nhắn cho khách hàng (không bắt buộc)',
  messageHelp: 'Gửi cho khách qua WeChat, sau đó báo WeChat Pay rằng khiếu nại đã được xử lý.',
  complaintResolved: 'Khiếu nại {1} đã đánh dấu là đã xử lý; đang báo WeChat Pay.', noComplaints: 'Không có khiếu nại.',
  pictures: 'Hình ảnh', transId: 'Mã giao dịch WeChat Pay', closedAt: 'Đóng lúc', picture: 'hình {1}',
  noOrders: 'Không có đơn hàng.', events: 'Sự kiện', tickets: 'Phiếu', deliveryOverdue: 'giao hàng quá hạn', noneYet: 'Không có.',
  deadLetters: 'Thư chết', deadLettersHelp: 'Những gì kefu-edge đã bỏ cuộc, kèm lý do. Khắc phục nguyên nhân rồi đưa lại vào hàng đợi.',
  noDeadLetters: 'Không có thư chết.', noDeliveries: 'Chưa có lượt gửi.', replay: 'Gửi lại', replayed: 'Thư chết #{1} đã trở lại hàng đợi.',
  replayedAt: 'đã gửi lại lúc {1}', attempts: 'Số lần thử', target: 'Tới', lastResult: 'Kết quả gần nhất', state: 'Trạng thái',
  src_delivery: 'lượt gửi', src_queue: 'tin nhắn hàng đợi', forTicket: 'phiếu #{1}',
  rulesHelp: 'Những việc kefu-edge tự làm: trả lời FAQ tự động, phân công cho nhân viên, gửi mẫu Zalo ZNS khi có sự kiện từ shop bán thẻ, và mẫu ZNS chuyển câu trả lời khi WeChat không tới được khách.',
  sec_faq: 'Trả lời FAQ tự động', sec_routes: 'Phân công', sec_zns: 'Quy tắc ZNS', sec_zns_fallback: 'ZNS dự phòng',
  help_faq: 'Tin nhắn của khách có chứa từ khóa sẽ nhận ngay câu trả lời này. Khi có loại, câu trả lời cũng được gửi cho mọi sự cố cùng loại từ shop bán thẻ.',
  help_routes: 'Tin nhắn có từ khóa, hoặc sự cố thuộc loại này từ shop bán thẻ, được giao cho nhân viên rảnh đầu tiên trong danh sách.',
  help_zns: 'Mẫu ZNS gửi tới số điện thoại của khách khi sự kiện xảy ra. Tham số có thể dùng {order.id}, {customer.name}, {message}, …',
  help_zns_fallback: 'Mẫu chuyển tin nhắn khi WeChat không tới được khách; {text} là nội dung tin nhắn.',
  keywords: 'Từ khóa (mỗi dòng một từ)', replyText: 'Câu trả lời', noCategory: '(không có)', kfAccounts: 'Nhân viên, tên@tài_khoản (mỗi dòng một người)',
  on: 'Khi', templateId: 'ID mẫu', params: 'Tham số', paramName: 'tên', paramValue: 'giá trị', addParam: 'Thêm tham số',
  addRule: 'Thêm', removeRule: 'Xóa', useFallback: 'Dùng mẫu dự phòng', editJson: 'Sửa dạng JSON', editForms: 'Sửa dạng biểu mẫu',
  jsonInvalid: 'JSON không hợp lệ: {1}', ruleNumber: 'Số {1}', rulesDoc: 'Tài liệu quy tắc',
  re_keywords: '{1}: từ khóa không được để trống', re_reply: '{1}: câu trả lời phải dài từ 1 đến {2} byte',
  re_needs: '{1}: cần từ khóa hoặc loại', re_kf: '{1}: nhân viên phải viết dạng tên@tài_khoản',
  re_on: '{1}: “Khi” phải là một trong {2}', re_template: '{1}: ID mẫu phải là số nguyên dương',
  re_placeholder: '{1}: không biết chỗ giữ chỗ {2}; các chỗ hợp lệ: {3}', re_category: '{1}: loại phải là một trong {2}',
  re_invalid: 'Quy tắc bị từ chối: {1}',
  statsHelp: '{1} ngày gần nhất, giờ theo {2}.', ticketsPerDay: 'Phiếu mới mỗi ngày', responseTimes: 'Thời gian phản hồi (phút)',
  frAvg: 'Phản hồi đầu, trung bình', frP90: 'Phản hồi đầu, p90', resAvg: 'Giải quyết, trung bình', resP90: 'Giải quyết, p90',
  slaBreaches: 'Vi phạm SLA', resolutionRate: 'Tỷ lệ giải quyết', complaintsByOutcome: 'Khiếu nại theo kết quả',
  byChannelCategory: 'Theo kênh và loại', opened: 'Mở mới', noData: 'Chưa có dữ liệu.', ticketsByStatus: 'Phiếu hiện tại',
  minutes: 'phút', perCent: '%',
  u_d: ' ngày', u_h: ' giờ', u_m: ' phút', u_s: ' giây', u_sep: ' ',
};

const STRINGS = { en, 'zh-CN': zh, vi };

export const LANGUAGES = [['zh-CN', '中文'], ['vi', 'Tiếng Việt'], ['en', 'English']];
const KEY = 'kefu.lang';

export function initialLanguage() {
  let chosen = null;
  try { chosen = localStorage.getItem(KEY); } catch { /* storage blocked */ }
  if (chosen && STRINGS[chosen]) return chosen;
  for (const lang of navigator.languages ?? [navigator.language]) {
    const l = String(lang).toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('vi')) return 'vi';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export function remember(lang) {
  try { localStorage.setItem(KEY, lang); } catch { /* storage blocked */ }
}

// A translator for one language: `t(key, ...args)` fills {1}, {2}, … A key missing in a
// language falls back to English, then to the key itself (the test keeps that from happening).
export function translator(lang) {
  const table = STRINGS[lang] ?? en;
  const t = (key, ...args) => {
    const s = table[key] ?? en[key] ?? key;
    return args.length ? s.replace(/\{(\d)\}/g, (m, n) => (args[Number(n) - 1] ?? m)) : s;
  };
  // A value's label (`ts_open`), or the value itself when the page has no word for it.
  t.maybe = (prefix, value) => (value === null || value === undefined ? '' : table[`${prefix}${value}`] ?? en[`${prefix}${value}`] ?? String(value));
  t.lang = lang;
  return t;
}

// A duration in this language's units: "2d 3h", "2天3小时", "2 ngày 3 giờ".
export function span(secs, t) {
  const s = Math.floor(Math.abs(secs));
  const d = Math.floor(s / 86400); const h = Math.floor((s % 86400) / 3600); const m = Math.floor((s % 3600) / 60);
  const part = (n, u) => `${n}${t(u)}`;
  const parts = d > 0 ? [part(d, 'u_d'), part(h, 'u_h')] : h > 0 ? [part(h, 'u_h'), part(m, 'u_m')] : [part(m, 'u_m'), part(s % 60, 'u_s')];
  return parts.join(t('u_sep'));
}

// The lines kefu-edge writes on a timeline, by their English form, and the key of their
// translation. `actor` patterns translate a system name quoted in the line.
const TIMELINE = [
  [/^reply via WeChat: ([\s\S]*)$/, 'tl_reply_wechat'],
  [/^reply via Zalo ZNS: ([\s\S]*)$/, 'tl_reply_zns'],
  [/^reply via Zalo OA: ([\s\S]*)$/, 'tl_reply_zalo'],
  [/^sent to the customer on Zalo: ([\s\S]*)$/, 'tl_sent_zalo'],
  [/^delivered to the customer$/, 'tl_zalo_delivered'],
  [/^seen by the customer$/, 'tl_zalo_seen'],
  [/^followed the Official Account$/, 'tl_zalo_follow'],
  [/^unfollowed the Official Account$/, 'tl_zalo_unfollow'],
  [/^reply via WeChat Shop: ([\s\S]*)$/, 'tl_reply_shop'],
  [/^assigned to (.*)$/, 'tl_assigned'],
  [/^unassigned$/, 'tl_unassigned'],
  [/^resolved$/, 'tl_resolved'],
  [/^closed$/, 'tl_closed'],
  [/^reopened$/, 'tl_reopened'],
  [/^session taken by (.*)$/, 'tl_session_taken', { 1: 'agent' }],
  [/^session moved from (.*) to (.*)$/, 'tl_session_moved'],
  [/^session closed by (.*)$/, 'tl_session_closed', { 1: 'agent' }],
  [/^sent to the customer: a (\w+) message$/, 'tl_sent_kind'],
  [/^sent to the customer: ([\s\S]*)$/, 'tl_sent'],
  [/^complaint (\S+) resolved by (.+?); message to the customer: ([\s\S]*)$/, 'tl_complaint_resolved_msg'],
  [/^complaint (\S+) resolved by (.+?); (\w+) message to the customer$/, 'tl_complaint_resolved_kind'],
  [/^complaint (\S+) resolved by (.+)$/, 'tl_complaint_resolved'],
  [/^complaint (\S+) opened: ([\s\S]*?) \(asks: ([\s\S]*)\)$/, 'tl_complaint_opened_asks', { 2: 'reason' }],
  [/^complaint (\S+) opened: ([\s\S]*)$/, 'tl_complaint_opened', { 2: 'reason' }],
  [/^complaint (\S+): the user confirmed the handling; closed$/, 'tl_complaint_confirmed'],
  [/^complaint (\S+): the user rejected the handling; reopened and escalated$/, 'tl_complaint_rejected'],
  [/^complaint (\S+): an older (\w+) notification arrived after a newer one; ignored$/, 'tl_complaint_stale'],
  [/^WeChat Pay told complaint (\S+) was handled$/, 'tl_payfeedback_told'],
  [/^staff alerted$/, 'tl_staff_alerted'],
  [/^not delivered: ([\s\S]*); sent as ZNS instead$/, 'tl_not_delivered_zns'],
  [/^not delivered: ([\s\S]*)$/, 'tl_not_delivered'],
  [/^ZNS template (\d+) sent to (\S*) \(CareSoft ticket (\S+)\)$/, 'tl_zns_sent_caresoft'],
  [/^ZNS template (\d+) sent to (.*)$/, 'tl_zns_sent'],
  [/^ZNS template (\d+) not sent: ([\s\S]*)$/, 'tl_zns_not_sent'],
  [/^ZNS template (\d+) to (\S*) requested$/, 'tl_zns_requested'],
  [/^refund succeeded$/, 'tl_refund_succeeded'],
];

// A timeline line in the page's language when kefu-edge wrote it; any other line as it is.
// A customer's own words (kind `inbound`) are never touched.
export function timelineText(body, t, kind) {
  if (kind === 'inbound') return body;
  for (const [pattern, key, special] of TIMELINE) {
    const m = pattern.exec(body);
    if (!m) continue;
    const args = m.slice(1).map((v, i) => {
      if (special?.[i + 1] === 'agent' && v === 'an agent') return t('actor_agent');
      if (special?.[i + 1] === 'reason' && v === 'no reason given') return t('tl_no_reason');
      return v;
    });
    return t(key, ...args);
  }
  return body;
}

// Whether an outbound line says the message did not get through.
export function failedOutbound(body) {
  return /^not delivered: |^ZNS template \d+ not sent: /.test(body);
}

// A customer's message on the timeline starts with its type when it is not text
// (`[image] <url>`, `[voice] <transcription>`, `[order.delivery_failed] <message>`). Only
// the types kefu-edge writes are read as such: a customer may well type "[hi]".
const MESSAGE_TYPES = {
  image: 'mt_image', voice: 'mt_voice', video: 'mt_video', shortvideo: 'mt_shortvideo', location: 'mt_location',
  link: 'mt_link', file: 'mt_file', 'mini program': 'mt_miniprogram', product: 'mt_product', order: 'mt_order',
  unknown: 'mt_unknown',
};
export function inboundParts(body, t) {
  const m = /^\[([^\]\n]{1,40})\](?: ([\s\S]*))?$/.exec(body);
  if (!m) return { type: null, text: body };
  const [, tag, rest = ''] = m;
  // The customer's own text that starts like a media line: shown as the text it is.
  if (tag === 'text') return { type: null, text: rest };
  const video = /^video (\d+)s$/.exec(tag);
  if (video) return { type: t('mt_videoSecs', video[1]), text: rest };
  if (MESSAGE_TYPES[tag]) {
    if (tag === 'voice' && rest === '(no translation)') return { type: t('mt_voice'), text: t('mt_noTranscription') };
    if (tag === 'unknown' && rest === '(unsupported message type)') return { type: t('mt_unknown'), text: t('mt_unsupported') };
    return { type: t(MESSAGE_TYPES[tag]), text: rest };
  }
  if (/^[a-z_]+\.[a-z_]+$/.test(tag)) return { type: t.maybe('ev_', tag), text: rest };
  if (rest === '(unsupported message type)') return { type: t('mt_other', tag), text: t('mt_unsupported') };
  return { type: null, text: body };
}

// The API's rule validation errors, which start with the rule they are about
// (`faq[2].reply must be 1..=2048 bytes`): the rule's path, and the message in this language.
const RULE_ERRORS = [
  [/^((?:faq|routes)\[\d+\])\.keywords must be non-empty strings$/, 're_keywords'],
  [/^(faq\[\d+\])\.reply must be 1\.\.=(\d+) bytes$/, 're_reply'],
  [/^(routes\[\d+\]) needs keywords or a category$/, 're_needs'],
  [/^(routes\[\d+\])\.kf_accounts must list accounts like name@account$/, 're_kf'],
  [/^(zns\[\d+\])\.on must be one of (.*)$/, 're_on'],
  [/^(zns\[\d+\]|zns_fallback)\.template_id must be a positive integer$/, 're_template'],
  [/^((?:zns\[\d+\]|zns_fallback)\.params\.[^:]*): unknown placeholder (\{[^}]*\}); known: (.*)$/, 're_placeholder'],
  [/^((?:faq|routes)\[\d+\])\.category must be one of (.*)$/, 're_category'],
];
export function ruleError(message, t) {
  const path = /^((?:faq|routes|zns)\[\d+\]|zns_fallback)(?:\.([a-z_]+))?/.exec(message);
  for (const [pattern, key] of RULE_ERRORS) {
    const m = pattern.exec(message);
    if (m) return { rule: path?.[1] ?? null, field: path?.[2] ?? null, text: t(key, ...m.slice(1)) };
  }
  return { rule: path?.[1] ?? null, field: path?.[2] ?? null, text: t('re_invalid', message) };
}

// An API error in this language: by its code, with the API's own words as a detail.
export function errorText(err, t) {
  if (!err) return '';
  if (err.status === 0) return t('err_network');
  const known = ['unauthenticated', 'not_found', 'conflict', 'malformed', 'misconfigured', 'unavailable'];
  if (err.code === 'missing_setting') return t('err_missing_setting', String(err.reason ?? '').replace(/^missing setting /, ''));
  if (err.code === 'forbidden') {
    const role = /needs the (agent|lead|owner) role$/.exec(err.reason ?? '')?.[1] ?? 'lead';
    return t('err_forbidden', t(`role_${role}`));
  }
  if (err.code === 'idempotency_key_reused') return t('err_idempotency_key_reused');
  if (known.includes(err.code)) return t(`err_${err.code}`);
  return t('err_other', err.status ?? '?');
}

export const KEYS = Object.keys(en);
export const ALL = STRINGS;
