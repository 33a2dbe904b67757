-- Idempotency-Key of every admin action that messages someone (replies, ZNS sends, complaint
-- resolves), scoped to the route and its target in `key`: the hash of the body it came with (the
-- same key with another body is refused), and the answer a repeat gets again.
ALTER TABLE idempotency_keys ADD COLUMN body_hash TEXT;
ALTER TABLE idempotency_keys ADD COLUMN status INTEGER;
ALTER TABLE idempotency_keys ADD COLUMN answer TEXT;
