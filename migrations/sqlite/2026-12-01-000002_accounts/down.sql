DROP INDEX devices_account;
ALTER TABLE devices DROP COLUMN account_id;
DROP TABLE accounts;
