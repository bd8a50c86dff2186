ALTER TABLE blobs DROP COLUMN deleted_at;
