-- Attachments are blobs with one intended recipient: only that device gets
-- download URLs. NULL for blobs that are not attachments.
ALTER TABLE blobs ADD COLUMN recipient BLOB REFERENCES devices (id) ON DELETE CASCADE;
CREATE INDEX blobs_recipient ON blobs (recipient);
