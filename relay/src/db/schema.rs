//! Diesel table definitions. Both migration sets (postgres/ and sqlite/) create
//! exactly these columns; timestamps are Unix milliseconds in BIGINT so both
//! backends store them the same way.

diesel::table! {
    devices (id) {
        id -> Binary,
        created_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    blobs (id) {
        id -> Text,
        owner -> Binary,
        size -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::joinable!(blobs -> devices (owner));
diesel::allow_tables_to_appear_in_same_query!(devices, blobs);
