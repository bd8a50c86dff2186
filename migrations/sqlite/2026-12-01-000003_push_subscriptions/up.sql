-- Web Push subscriptions (ADR 0023): where to send a device its content-free
-- wake-ups. Kept with the token that registered it, so logging that token
-- out removes it; erasing the device removes them all.
CREATE TABLE push_subscriptions (
    endpoint TEXT PRIMARY KEY NOT NULL,
    device_id BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL,
    p256dh BLOB NOT NULL,
    auth BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_device_id ON push_subscriptions (device_id);
CREATE INDEX push_subscriptions_token_hash ON push_subscriptions (token_hash);
