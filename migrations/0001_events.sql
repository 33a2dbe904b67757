-- Every accepted callback, stored once: retries of the same callback share a dedup key.
CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  dedup_key   TEXT NOT NULL UNIQUE,
  kind        TEXT NOT NULL,
  payload     TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  stored_at   INTEGER NOT NULL
);
CREATE INDEX events_received_at ON events (received_at);
