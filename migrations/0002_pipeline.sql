-- Tickets: one conversation with one customer on one channel. At most one ticket per customer
-- and channel is not closed (the partial unique index): concurrent consumers cannot open two.
CREATE TABLE tickets (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  channel            TEXT NOT NULL,              -- oa | shop | payfeedback | orders
  customer_id        TEXT NOT NULL,              -- OpenID, or the card-shop customer id
  order_id           TEXT,
  category           TEXT NOT NULL DEFAULT 'general',
  status             TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'resolved', 'closed')),
  assignee           TEXT,
  priority           TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal', 'high', 'urgent')),
  opened_by          TEXT NOT NULL,              -- dedup key of the event that opened it
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  first_response_at  INTEGER,
  resolved_at        INTEGER,
  first_response_due INTEGER NOT NULL,
  resolution_due     INTEGER NOT NULL
);
CREATE UNIQUE INDEX tickets_one_active ON tickets (channel, customer_id) WHERE status != 'closed';
CREATE INDEX tickets_status ON tickets (status, resolution_due);

-- Everything that happened on a ticket, in order. `event_key` makes appending idempotent.
CREATE TABLE ticket_timeline (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
  at         INTEGER NOT NULL,
  kind       TEXT NOT NULL,                      -- inbound | agent | outbound | status
  actor      TEXT,
  body       TEXT NOT NULL,
  event_key  TEXT UNIQUE
);
CREATE INDEX ticket_timeline_ticket ON ticket_timeline (ticket_id, id);

-- Each outbound call: what, to where, how it went. The queue carries only the id.
CREATE TABLE deliveries (
  id           TEXT PRIMARY KEY,
  target       TEXT NOT NULL,                    -- wecom_robot | wechat_custom_send | ...
  payload      TEXT NOT NULL,
  ticket_id    INTEGER,
  state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'retrying', 'delivered', 'dead')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_result  TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

-- Staff alerts waiting for the WeCom robot; coalesced into as few messages as the rate allows.
CREATE TABLE alerts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  dedup_key   TEXT NOT NULL UNIQUE,
  ticket_id   INTEGER,
  text        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  claim       TEXT,
  claimed_at  INTEGER,
  sent_at     INTEGER
);
CREATE INDEX alerts_unsent ON alerts (sent_at, id);

-- One row per robot request actually made: the 20-a-minute window is counted here.
CREATE TABLE robot_sends (
  id  INTEGER PRIMARY KEY AUTOINCREMENT,
  at  INTEGER NOT NULL
);

-- What could not be done: a delivery that failed permanently or ran out of attempts, or a
-- queue message the dead-letter queue handed over. Replayable from the admin API.
CREATE TABLE dead_letters (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  source       TEXT NOT NULL,                    -- delivery | queue
  delivery_id  TEXT UNIQUE,
  body         TEXT NOT NULL,
  reason       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  replayed_at  INTEGER
);
