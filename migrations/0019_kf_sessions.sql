-- The last known 微信客服 session state of each customer (kf/service_state: 0 new, 1 bot,
-- 2 queued, 3 with an agent, 4 ended), which decides whether kf/send_msg may answer them (only
-- in 0 or 1). Learnt from session_status_change events, from service_state/get (asked before a
-- send when the state is unknown or older than kf_sessions::FRESH_SECS) and from kefu-edge's own
-- service_state/trans; `known_at` orders them, so an older fact never overwrites a newer one.
CREATE TABLE kf_sessions (
  recipient       TEXT PRIMARY KEY, -- 'kf:<open_kfid>/<external_userid>'
  service_state   INTEGER NOT NULL,
  servicer_userid TEXT,
  known_at        INTEGER NOT NULL
);
