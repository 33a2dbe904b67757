-- Zalo ZNS through CareSoft: the CareSoft ticket a ticket's ZNS conversation lives in (sent back
-- as `ticket_id`), and targets paused after answering 429 (CareSoft locks a domain for 15
-- minutes after about 20 in a row).
ALTER TABLE tickets ADD COLUMN caresoft_ticket_id INTEGER;

CREATE TABLE target_pauses (
  target   TEXT PRIMARY KEY,
  until    INTEGER NOT NULL,   -- no call to the target before this
  strikes  INTEGER NOT NULL    -- 429s in a row: each pause is twice the last
);
