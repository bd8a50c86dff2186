-- An attachment deleted early whose pre-signed S3 upload URL may still be
-- used: the row stays (not downloadable, still counted in the owner's quota)
-- until that URL is dead, then the sweeper removes whatever was uploaded.
-- NULL for rows that are not deleted.
ALTER TABLE blobs ADD COLUMN deleted_at BIGINT;
