ALTER TABLE invite_codes ADD COLUMN used_by BLOB;
