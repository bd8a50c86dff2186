DROP INDEX blobs_recipient;
ALTER TABLE blobs DROP COLUMN recipient;
