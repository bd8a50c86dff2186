-- Pairing rendezvous slots: opaque sealed messages, one claimant, short-lived.
CREATE TABLE rendezvous (
    id BYTEA PRIMARY KEY,
    owner BYTEA NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    pin_slot INTEGER UNIQUE,
    claimant BYTEA,
    msg_a1 BYTEA,
    msg_a2 BYTEA,
    msg_b BYTEA,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rendezvous_expires_at ON rendezvous (expires_at);
