-- Events, timeline entries and rate-limit sends numbered by plain rowids (issue 14, the bill).
-- AUTOINCREMENT writes the table's counter in sqlite_sequence on every insert: in D1 a row
-- written per stored event and per timeline entry, that is one or two per callback. A plain
-- INTEGER PRIMARY KEY numbers rows the same way (the largest id plus one) as long as the newest
-- row is never deleted, and events and timeline entries never are; rate_sends ids are never
-- read. SQLite cannot drop AUTOINCREMENT in place, so each table is copied once (one row
-- written per existing row and index entry, once).

CREATE TABLE events_rowid (
  id          INTEGER PRIMARY KEY,
  dedup_key   TEXT NOT NULL UNIQUE,
  kind        TEXT NOT NULL,
  payload     TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  stored_at   INTEGER NOT NULL
);
INSERT INTO events_rowid (id, dedup_key, kind, payload, received_at, stored_at)
  SELECT id, dedup_key, kind, payload, received_at, stored_at FROM events;
DROP TABLE events;
ALTER TABLE events_rowid RENAME TO events;

CREATE TABLE ticket_timeline_rowid (
  id         INTEGER PRIMARY KEY,
  ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
  at         INTEGER NOT NULL,
  kind       TEXT NOT NULL,                      -- inbound | agent | outbound | status
  actor      TEXT,
  body       TEXT NOT NULL,
  event_key  TEXT UNIQUE
);
INSERT INTO ticket_timeline_rowid (id, ticket_id, at, kind, actor, body, event_key)
  SELECT id, ticket_id, at, kind, actor, body, event_key FROM ticket_timeline;
DROP TABLE ticket_timeline;
ALTER TABLE ticket_timeline_rowid RENAME TO ticket_timeline;
CREATE INDEX ticket_timeline_ticket ON ticket_timeline (ticket_id, id);

CREATE TABLE rate_sends_rowid (
  id      INTEGER PRIMARY KEY,
  target  TEXT NOT NULL,
  at      INTEGER NOT NULL
);
INSERT INTO rate_sends_rowid (id, target, at) SELECT id, target, at FROM rate_sends;
DROP TABLE rate_sends;
ALTER TABLE rate_sends_rowid RENAME TO rate_sends;
CREATE INDEX rate_sends_target_at ON rate_sends (target, at);
