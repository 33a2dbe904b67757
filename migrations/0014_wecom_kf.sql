-- 微信客服 (WeCom kf, issue 29): pulling each account's messages with kf/sync_msg, and the
-- customers' profiles.

-- Where pulling stands for one customer-service account (open_kfid). `cursor` is the
-- next_cursor of the last page stored, written in the same transaction as that page's messages:
-- a crash between pages re-reads at most one page, which the per-msgid event keys make harmless.
-- A sync run holds the account's lease (`lease_id` until `lease_until`), so two callbacks never
-- read from the same cursor; `synced_at` tells a gap longer than sync_msg's 3 days.
CREATE TABLE kf_cursors (
  open_kfid   TEXT PRIMARY KEY,
  cursor      TEXT,
  synced_at   INTEGER,
  lease_id    TEXT,
  lease_until INTEGER NOT NULL DEFAULT 0
);

-- A customer's profile from kf/customer/batchget, fetched once.
CREATE TABLE kf_customers (
  external_userid       TEXT PRIMARY KEY,
  nickname              TEXT,
  avatar                TEXT,
  unionid               TEXT,
  enter_session_context TEXT,
  fetched_at            INTEGER NOT NULL
);
