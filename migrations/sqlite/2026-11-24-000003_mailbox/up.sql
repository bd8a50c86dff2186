-- Opaque envelopes waiting for their recipient. `seq` orders delivery
-- (per sender it is the order the relay accepted them).
CREATE TABLE envelopes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sender BLOB NOT NULL,
    recipient BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    envelope_id BLOB NOT NULL,
    payload BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    UNIQUE (sender, envelope_id)
);
CREATE INDEX envelopes_recipient_seq ON envelopes (recipient, seq);
CREATE INDEX envelopes_expires_at ON envelopes (expires_at);

-- Ids of acknowledged envelopes, kept until expiry so a late resend with the
-- same id is recognised instead of delivered twice. No payload, no recipient.
CREATE TABLE envelope_tombstones (
    sender BLOB NOT NULL,
    envelope_id BLOB NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (sender, envelope_id)
);
CREATE INDEX envelope_tombstones_expires_at ON envelope_tombstones (expires_at);
