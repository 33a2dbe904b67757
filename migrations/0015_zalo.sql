-- Zalo OA as a channel (issue 30).

-- The OA's OAuth v4 token pair, one row. The refresh token is single-use: `lease_holder` and
-- `lease_until` let exactly one isolate refresh it at a time; `generation` counts stored pairs;
-- `refused_at` says Zalo refused the refresh token and only the merchant can re-authorise.
CREATE TABLE zalo_tokens (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  refresh_token TEXT NOT NULL,
  access_token  TEXT,
  expires_at    INTEGER NOT NULL DEFAULT 0,
  generation    INTEGER NOT NULL DEFAULT 0,
  lease_holder  TEXT,
  lease_until   INTEGER,
  refused_at    INTEGER,
  updated_at    INTEGER NOT NULL
);

-- Our messages Zalo accepted, by its message_id: receipts (user_received_message,
-- user_seen_message) find their ticket here, and the sends since the customer's last message
-- count against the free replies.
CREATE TABLE zalo_sent (
  message_id   TEXT PRIMARY KEY,
  delivery_id  TEXT NOT NULL,
  ticket_id    INTEGER,
  user_id      TEXT NOT NULL,
  sent_at      INTEGER NOT NULL,
  delivered_at INTEGER,
  seen_at      INTEGER
);
CREATE INDEX zalo_sent_user ON zalo_sent (user_id, sent_at);

-- What a Zalo user shared with the OA (user_submit_info): the phone outlives their tickets.
CREATE TABLE zalo_users (
  user_id    TEXT PRIMARY KEY,
  phone      TEXT,
  name       TEXT,
  updated_at INTEGER NOT NULL
);

-- A Zalo customer's phone finds their card-shop orders.
CREATE INDEX IF NOT EXISTS orders_customer_phone ON orders (customer_phone);
