-- Email registration codes. The address is kept only as a keyed hash
-- (HMAC-SHA256 under a relay secret), the code only as a keyed hash too.
CREATE TABLE email_otps (
    email_hash BYTEA PRIMARY KEY,
    code_hash BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts_left INTEGER NOT NULL,
    last_sent_at BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    sends_in_window INTEGER NOT NULL
);
