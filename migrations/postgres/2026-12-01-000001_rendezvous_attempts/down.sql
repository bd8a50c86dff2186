DROP INDEX rendezvous_owner;
ALTER TABLE rendezvous DROP COLUMN failed_claims;
