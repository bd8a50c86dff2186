-- Multi-recipient sends (ADR 0026): one copy of a payload that several
-- devices wait for. Each recipient has its own `envelopes` row naming it by
-- `payload_id` (its inline `payload` is NULL); a single `Send` keeps its
-- payload inline as before. The relay deletes a `payloads` row in the same
-- transaction as the last envelope row that names it.
CREATE TABLE payloads (
    id BIGSERIAL PRIMARY KEY,
    payload BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX payloads_expires_at ON payloads (expires_at);

ALTER TABLE envelopes ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE envelopes ADD COLUMN payload_id BIGINT REFERENCES payloads (id);
ALTER TABLE envelopes ADD CONSTRAINT envelopes_one_payload
    CHECK ((payload IS NULL) <> (payload_id IS NULL));
-- `(sender, envelope_id)` now repeats once per recipient of a
-- multi-recipient send; it stays one dedupe key (checked by the relay).
ALTER TABLE envelopes DROP CONSTRAINT envelopes_sender_envelope_id_key;
ALTER TABLE envelopes ADD CONSTRAINT envelopes_sender_envelope_id_recipient_key
    UNIQUE (sender, envelope_id, recipient);
CREATE INDEX envelopes_payload_id ON envelopes (payload_id);
