ALTER TABLE blobs ADD COLUMN recipient BLOB REFERENCES devices (id) ON DELETE CASCADE;
CREATE INDEX blobs_recipient ON blobs (recipient);
-- The old layout has one recipient: the smallest device id is kept.
UPDATE blobs SET recipient = (SELECT MIN(r.device) FROM attachment_recipients r WHERE r.blob_id = blobs.id);
DROP TABLE attachment_recipients;
