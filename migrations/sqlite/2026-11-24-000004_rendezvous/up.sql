-- Pairing rendezvous slots: opaque sealed messages, one claimant, short-lived.
CREATE TABLE rendezvous (
    id BLOB PRIMARY KEY NOT NULL,
    owner BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    pin_slot INTEGER UNIQUE,
    claimant BLOB,
    msg_a1 BLOB,
    msg_a2 BLOB,
    msg_b BLOB,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rendezvous_expires_at ON rendezvous (expires_at);
