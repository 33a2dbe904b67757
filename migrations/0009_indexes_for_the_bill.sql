-- Indexes sized to the queries (issue 14, the bill). In D1 each index adds a row written to
-- every insert, and to every update of its columns; a query no index serves reads (and is
-- billed for) the whole table, which grows with every conversation.

-- Events are listed by id and found by dedup_key; nothing reads them by received_at. Dropping
-- the index saves a row written per stored event, that is per accepted callback.
DROP INDEX events_received_at;

-- Pending alerts are found by their claim (`claim IS NULL` to flush, `claim = ?` to mark them
-- sent), never by sent_at: each flush read every alert ever raised. (claim, id) serves both in
-- id order; updating sent_at no longer moves an index entry.
DROP INDEX alerts_unsent;
CREATE INDEX alerts_claim ON alerts (claim, id);

-- A customer's tickets, closed ones too (when they last wrote on WeChat: reach.rs, read for
-- every card-shop event with an OpenID); only tickets_one_active (open ones) had an index.
CREATE INDEX tickets_customer ON tickets (customer_id, channel);
