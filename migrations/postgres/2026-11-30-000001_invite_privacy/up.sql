-- An invite code no longer records which device used it: only that it was
-- used, and when (the code's link to a device served no purpose).
ALTER TABLE invite_codes DROP COLUMN used_by;
