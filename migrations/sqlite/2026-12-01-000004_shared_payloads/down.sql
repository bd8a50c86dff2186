CREATE TABLE envelopes_old (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sender BLOB NOT NULL,
    recipient BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    envelope_id BLOB NOT NULL,
    payload BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    UNIQUE (sender, envelope_id)
);
-- Only one recipient of a shared payload fits the old layout: the first.
INSERT INTO envelopes_old (seq, sender, recipient, envelope_id, payload, created_at, expires_at)
    SELECT e.seq, e.sender, e.recipient, e.envelope_id, COALESCE(e.payload, p.payload),
           e.created_at, e.expires_at
    FROM envelopes e LEFT JOIN payloads p ON p.id = e.payload_id
    WHERE e.seq = (SELECT MIN(f.seq) FROM envelopes f
                   WHERE f.sender = e.sender AND f.envelope_id = e.envelope_id);
DROP TABLE envelopes;
ALTER TABLE envelopes_old RENAME TO envelopes;
CREATE INDEX envelopes_recipient_seq ON envelopes (recipient, seq);
CREATE INDEX envelopes_expires_at ON envelopes (expires_at);
DROP TABLE payloads;
