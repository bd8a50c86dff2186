//! Diesel table definitions. Both migration sets (postgres/ and sqlite/) create
//! exactly these columns; timestamps are Unix milliseconds in BIGINT so both
//! backends store them the same way.

diesel::table! {
    devices (id) {
        id -> Binary,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        account_id -> Nullable<Binary>,
    }
}

diesel::table! {
    accounts (id) {
        id -> Binary,
        counter -> BigInt,
        list -> Binary,
        updated_at -> BigInt,
    }
}

diesel::table! {
    blobs (id) {
        id -> Text,
        owner -> Binary,
        size -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        deleted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    attachment_recipients (blob_id, device) {
        blob_id -> Text,
        device -> Binary,
    }
}

diesel::allow_tables_to_appear_in_same_query!(blobs, attachment_recipients);

diesel::joinable!(blobs -> devices (owner));
diesel::allow_tables_to_appear_in_same_query!(devices, blobs);

diesel::table! {
    device_keys (device_id) {
        device_id -> Binary,
        identity -> Binary,
        signed_prekey -> Binary,
        pq_prekey -> Binary,
        updated_at -> BigInt,
    }
}

diesel::table! {
    one_time_prekeys (device_id, key_id) {
        device_id -> Binary,
        key_id -> BigInt,
        public_key -> Binary,
    }
}

diesel::table! {
    auth_challenges (challenge) {
        challenge -> Binary,
        expires_at -> BigInt,
    }
}

diesel::table! {
    auth_tokens (token_hash) {
        token_hash -> Binary,
        device_id -> Binary,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    invite_codes (code_hash) {
        code_hash -> Binary,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(devices, device_keys, one_time_prekeys, auth_tokens);

diesel::table! {
    envelopes (seq) {
        seq -> BigInt,
        sender -> Binary,
        recipient -> Binary,
        envelope_id -> Binary,
        payload -> Nullable<Binary>,
        created_at -> BigInt,
        expires_at -> BigInt,
        payload_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    payloads (id) {
        id -> BigInt,
        payload -> Binary,
        expires_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(envelopes, payloads);

diesel::table! {
    envelope_tombstones (sender, envelope_id) {
        sender -> Binary,
        envelope_id -> Binary,
        expires_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(devices, envelopes);

diesel::table! {
    rendezvous (id) {
        id -> Binary,
        owner -> Binary,
        pin_slot -> Nullable<Integer>,
        claimant -> Nullable<Binary>,
        msg_a1 -> Nullable<Binary>,
        msg_a2 -> Nullable<Binary>,
        msg_b -> Nullable<Binary>,
        created_at -> BigInt,
        expires_at -> BigInt,
        failed_claims -> Integer,
    }
}

diesel::table! {
    email_otps (email_hash) {
        email_hash -> Binary,
        code_hash -> Binary,
        expires_at -> BigInt,
        attempts_left -> Integer,
        last_sent_at -> BigInt,
        window_start -> BigInt,
        sends_in_window -> Integer,
    }
}

diesel::table! {
    push_subscriptions (endpoint) {
        endpoint -> Text,
        device_id -> Binary,
        token_hash -> Binary,
        p256dh -> Binary,
        auth -> Binary,
        created_at -> BigInt,
    }
}
