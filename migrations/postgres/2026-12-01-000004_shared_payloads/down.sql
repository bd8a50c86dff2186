-- Only one recipient of a shared payload fits the old layout: the first.
DELETE FROM envelopes e USING envelopes f
    WHERE f.sender = e.sender AND f.envelope_id = e.envelope_id AND f.seq < e.seq;
UPDATE envelopes e SET payload = p.payload, payload_id = NULL
    FROM payloads p WHERE p.id = e.payload_id;
DROP INDEX envelopes_payload_id;
ALTER TABLE envelopes DROP CONSTRAINT envelopes_sender_envelope_id_recipient_key;
ALTER TABLE envelopes ADD CONSTRAINT envelopes_sender_envelope_id_key UNIQUE (sender, envelope_id);
ALTER TABLE envelopes DROP CONSTRAINT envelopes_one_payload;
ALTER TABLE envelopes DROP COLUMN payload_id;
ALTER TABLE envelopes ALTER COLUMN payload SET NOT NULL;
DROP TABLE payloads;
