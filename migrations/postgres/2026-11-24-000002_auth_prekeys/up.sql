-- A device's published identity and current prekeys (public keys only).
CREATE TABLE device_keys (
    device_id BYTEA PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    identity BYTEA NOT NULL,
    signed_prekey BYTEA NOT NULL,
    pq_prekey BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One-time prekeys, each handed out at most once.
CREATE TABLE one_time_prekeys (
    device_id BYTEA NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    key_id BIGINT NOT NULL,
    public_key BYTEA NOT NULL,
    PRIMARY KEY (device_id, key_id)
);

-- Single-use login/registration challenges.
CREATE TABLE auth_challenges (
    challenge BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_challenges_expires_at ON auth_challenges (expires_at);

-- Session tokens, stored only as SHA-256 hashes.
CREATE TABLE auth_tokens (
    token_hash BYTEA PRIMARY KEY,
    device_id BYTEA NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_tokens_device_id ON auth_tokens (device_id);
CREATE INDEX auth_tokens_expires_at ON auth_tokens (expires_at);

-- Invite codes for the `invite` registration gate, stored hashed.
CREATE TABLE invite_codes (
    code_hash BYTEA PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_by BYTEA,
    used_at BIGINT
);
