DROP TABLE envelope_tombstones;
DROP TABLE envelopes;
