-- Devices are their Ed25519 identity public keys. Timestamps: Unix ms.
CREATE TABLE devices (
    id BYTEA PRIMARY KEY CHECK (octet_length(id) = 32),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

-- Attachment ciphertext lives in the blob store; this is its bookkeeping.
CREATE TABLE blobs (
    id TEXT PRIMARY KEY,
    owner BYTEA NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    size BIGINT NOT NULL CHECK (size > 0),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX blobs_expires_at ON blobs (expires_at);
CREATE INDEX blobs_owner ON blobs (owner);
