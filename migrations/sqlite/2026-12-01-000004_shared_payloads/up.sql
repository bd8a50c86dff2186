-- Multi-recipient sends (ADR 0026): one copy of a payload that several
-- devices wait for. Each recipient has its own `envelopes` row naming it by
-- `payload_id` (its inline `payload` is NULL); a single `Send` keeps its
-- payload inline as before. The relay deletes a `payloads` row in the same
-- transaction as the last envelope row that names it.
CREATE TABLE payloads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payload BLOB NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX payloads_expires_at ON payloads (expires_at);

-- SQLite cannot relax NOT NULL or change a UNIQUE constraint in place: the
-- table is rebuilt. `(sender, envelope_id)` now repeats once per recipient
-- of a multi-recipient send; it stays one dedupe key (checked by the relay).
CREATE TABLE envelopes_new (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sender BLOB NOT NULL,
    recipient BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    envelope_id BLOB NOT NULL,
    payload BLOB,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    payload_id BIGINT REFERENCES payloads (id),
    CHECK ((payload IS NULL) <> (payload_id IS NULL)),
    UNIQUE (sender, envelope_id, recipient)
);
INSERT INTO envelopes_new (seq, sender, recipient, envelope_id, payload, created_at, expires_at)
    SELECT seq, sender, recipient, envelope_id, payload, created_at, expires_at FROM envelopes;
DROP TABLE envelopes;
ALTER TABLE envelopes_new RENAME TO envelopes;
CREATE INDEX envelopes_recipient_seq ON envelopes (recipient, seq);
CREATE INDEX envelopes_expires_at ON envelopes (expires_at);
CREATE INDEX envelopes_payload_id ON envelopes (payload_id);
