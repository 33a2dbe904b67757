-- Card-shop orders, as far as complaints and tickets need them (goods kind, delivery).
CREATE TABLE orders (
  id              TEXT PRIMARY KEY,
  trans_id        TEXT UNIQUE,                  -- the WeChat Pay transaction id
  goods_kind      TEXT CHECK (goods_kind IN ('virtual', 'physical')),
  status          TEXT NOT NULL DEFAULT 'paid',
  amount          INTEGER,
  currency        TEXT,
  product         TEXT,
  customer_openid TEXT,
  paid_at         INTEGER,
  delivered_at    INTEGER,
  updated_at      INTEGER NOT NULL
);

-- WeChat Pay complaints (维权) and their legal deadlines.
CREATE TABLE complaints (
  feedback_id       TEXT PRIMARY KEY,
  openid            TEXT NOT NULL,
  trans_id          TEXT,
  status            TEXT NOT NULL CHECK (status IN ('open', 'processed', 'closed', 'reopened')),
  reason            TEXT,
  solution          TEXT,
  ext_info          TEXT,
  pic_urls          TEXT NOT NULL DEFAULT '[]',
  goods_kind        TEXT,
  delivered         INTEGER,                    -- 1, 0, or NULL when unknown
  opened_at         INTEGER NOT NULL,
  deadline          INTEGER NOT NULL,
  warning_due       INTEGER NOT NULL,
  warned_at         INTEGER,
  overdue_warned_at INTEGER,
  escalated_at      INTEGER,
  resolved_at       INTEGER,
  closed_at         INTEGER,
  updated_at        INTEGER NOT NULL
);
CREATE INDEX complaints_due ON complaints (status, deadline);
