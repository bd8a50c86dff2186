DROP TABLE invite_codes;
DROP TABLE auth_tokens;
DROP TABLE auth_challenges;
DROP TABLE one_time_prekeys;
DROP TABLE device_keys;
