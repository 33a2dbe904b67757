-- The customer channels' send windows (issue 26): each channel allows a few messages after the
-- customer last wrote, and counts queued sends as well as delivered ones. A delivery names its
-- recipient on its channel (`oa:<openid>`, `shop:<openid>`), so the sends since a customer's
-- last message are one indexed count; calls that message no customer leave it empty.
ALTER TABLE deliveries ADD COLUMN recipient TEXT;
CREATE INDEX deliveries_recipient ON deliveries (recipient, created_at) WHERE recipient IS NOT NULL;

-- When a customer last clicked an Official Account menu, followed it or scanned its QR code:
-- each opens a one-minute window of 3 messages. Events open no ticket, so it is kept here.
CREATE TABLE channel_interactions (
  recipient TEXT PRIMARY KEY,
  at        INTEGER NOT NULL
);
