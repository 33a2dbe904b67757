-- Issue 25: card-shop events are never lost after the 200, and the dashboard's reads do not
-- scan.

-- One WeChat Pay transaction can pay several orders (合单支付), and an empty trans_id means
-- none: orders.trans_id was UNIQUE, so a second order of a transaction (or a second order with
-- "trans_id": "") failed the consumer's insert for as long as the queue retried it. SQLite
-- cannot drop a UNIQUE constraint in place: the table is copied once, with empty strings made
-- NULL (absent), and trans_id indexed without uniqueness (complaints find their orders by it).
CREATE TABLE orders_shared_trans (
  id                 TEXT PRIMARY KEY,
  trans_id           TEXT,                        -- the WeChat Pay transaction id; shared by the orders it paid
  goods_kind         TEXT CHECK (goods_kind IN ('virtual', 'physical')),
  status             TEXT NOT NULL DEFAULT 'paid',
  amount             INTEGER,
  currency           TEXT,
  product            TEXT,
  customer_openid    TEXT,
  paid_at            INTEGER,
  delivered_at       INTEGER,
  updated_at         INTEGER NOT NULL,
  customer_phone     TEXT,
  customer_email     TEXT,
  customer_name      TEXT,
  deliver_by         INTEGER,
  deliver_warn_at    INTEGER,
  deliver_warned_at  INTEGER,
  deliver_overdue_at INTEGER
);
INSERT INTO orders_shared_trans (id, trans_id, goods_kind, status, amount, currency, product, customer_openid,
    paid_at, delivered_at, updated_at, customer_phone, customer_email, customer_name, deliver_by,
    deliver_warn_at, deliver_warned_at, deliver_overdue_at)
  SELECT id, NULLIF(TRIM(trans_id), ''), goods_kind, status, amount, currency, product, NULLIF(TRIM(customer_openid), ''),
    paid_at, delivered_at, updated_at, customer_phone, customer_email, customer_name, deliver_by,
    deliver_warn_at, deliver_warned_at, deliver_overdue_at
  FROM orders;
DROP TABLE orders;
ALTER TABLE orders_shared_trans RENAME TO orders;
CREATE INDEX orders_watch ON orders (delivered_at, deliver_by);
CREATE INDEX orders_status ON orders (status, updated_at);
CREATE INDEX orders_trans ON orders (trans_id) WHERE trans_id IS NOT NULL;
-- The orders list without a status filter, most recently changed first.
CREATE INDEX orders_updated ON orders (updated_at);

-- An empty OpenID is none: a ticket with "" would be answered on WeChat to nobody.
UPDATE tickets SET customer_openid = NULL WHERE TRIM(customer_openid) = '';

-- An order's events by a column the consumer fills, instead of json_extract over every event.
-- The index is partial: only card-shop events write an entry.
ALTER TABLE events ADD COLUMN order_id TEXT;
UPDATE events SET order_id = json_extract(payload, '$.order.id')
  WHERE kind = 'order' AND json_valid(payload) AND json_type(payload, '$.order.id') = 'text';
CREATE INDEX events_order ON events (order_id, id) WHERE order_id IS NOT NULL;

-- Deliveries listed newest first, by state or all of them.
CREATE INDEX deliveries_state_created ON deliveries (state, created_at);
CREATE INDEX deliveries_created ON deliveries (created_at);

-- The queue: resolved and closed tickets of one status, newest first (open and pending ones are
-- sorted by their due time among themselves).
CREATE INDEX tickets_status_id ON tickets (status, id);
-- The stats page's last 30 days of tickets.
CREATE INDEX tickets_created ON tickets (created_at);

-- Complaints of an order's transaction, and of a customer.
CREATE INDEX complaints_trans ON complaints (trans_id) WHERE trans_id IS NOT NULL;
CREATE INDEX complaints_openid ON complaints (openid);
