-- Complaint notifications may arrive out of order: the TimeStamp of the last one applied, so an
-- older one is kept as an event but changes nothing.
ALTER TABLE complaints ADD COLUMN last_notified_at INTEGER;
-- The last staff resolution applied: two resolves of a processed complaint planned from the same
-- read must not both apply.
ALTER TABLE complaints ADD COLUMN resolve_id TEXT;

-- A plan that must only apply to the state it read starts with an expectation: an insert here
-- that happens (and fails the CHECK, aborting the whole transaction) exactly when the state
-- moved meanwhile. No row is ever stored.
CREATE TABLE expectations (
  holds INTEGER NOT NULL CHECK (holds = 1)
);

-- Idempotency-Key headers of admin actions already carried out: a repeat changes nothing.
CREATE TABLE idempotency_keys (
  key        TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
