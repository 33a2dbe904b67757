-- The card-shop webhook (POST /hooks/orders): who the customer is, and the undelivered-order
-- watch (an alert before a paid order that never arrives becomes a 维权 complaint).
ALTER TABLE orders ADD COLUMN customer_phone TEXT;
ALTER TABLE orders ADD COLUMN customer_email TEXT;
ALTER TABLE orders ADD COLUMN customer_name TEXT;
ALTER TABLE orders ADD COLUMN deliver_by INTEGER;          -- paid + 24 h (virtual) / 72 h (physical)
ALTER TABLE orders ADD COLUMN deliver_warn_at INTEGER;     -- the earlier warning
ALTER TABLE orders ADD COLUMN deliver_warned_at INTEGER;
ALTER TABLE orders ADD COLUMN deliver_overdue_at INTEGER;  -- when the overdue alert was raised
CREATE INDEX orders_watch ON orders (delivered_at, deliver_by);
CREATE INDEX orders_status ON orders (status, updated_at);

-- A ticket's customer, as the channel knows them (card-shop tickets carry the order's customer).
ALTER TABLE tickets ADD COLUMN customer_name TEXT;
ALTER TABLE tickets ADD COLUMN customer_phone TEXT;
ALTER TABLE tickets ADD COLUMN customer_email TEXT;
ALTER TABLE tickets ADD COLUMN customer_openid TEXT;
CREATE INDEX tickets_order ON tickets (order_id);
