-- Sends to rate-limited outbound targets (the WeCom robot's 20 a minute, next CareSoft's 15 a
-- second), counted per target over each target's window. Replaces robot_sends.
CREATE TABLE rate_sends (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  target  TEXT NOT NULL,
  at      INTEGER NOT NULL
);
CREATE INDEX rate_sends_target_at ON rate_sends (target, at);
DROP TABLE robot_sends;
