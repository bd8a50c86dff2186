-- Accounts (ADR 0017): each account's latest signed device list, opaque to
-- SQL; the relay checked the account key's signature before storing it.
-- `counter` only ever grows. A device belongs to at most one account.
CREATE TABLE accounts (
    id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 32),
    counter BIGINT NOT NULL CHECK (counter >= 0),
    list BLOB NOT NULL,
    updated_at BIGINT NOT NULL
);
ALTER TABLE devices ADD COLUMN account_id BLOB;
CREATE INDEX devices_account ON devices (account_id);
