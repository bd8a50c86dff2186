-- An attachment may be for several devices (a group room): each listed
-- device may download it and end its own access; the object goes when the
-- last one has, when the owner deletes it, or at expiry. Replaces the single
-- `blobs.recipient`.
CREATE TABLE attachment_recipients (
    blob_id TEXT NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
    device BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (blob_id, device)
);
CREATE INDEX attachment_recipients_device ON attachment_recipients (device);
INSERT INTO attachment_recipients (blob_id, device)
    SELECT id, recipient FROM blobs WHERE recipient IS NOT NULL;
DROP INDEX blobs_recipient;
ALTER TABLE blobs DROP COLUMN recipient;
