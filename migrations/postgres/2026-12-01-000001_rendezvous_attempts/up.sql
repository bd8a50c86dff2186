-- A slot survives failed replies (ADR 0010): it counts them, and closes at
-- the limit. Open slots are counted per owner (at most 3 per device).
ALTER TABLE rendezvous ADD COLUMN failed_claims INTEGER NOT NULL DEFAULT 0;
CREATE INDEX rendezvous_owner ON rendezvous (owner);
