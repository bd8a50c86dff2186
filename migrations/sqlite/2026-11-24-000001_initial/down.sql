DROP TABLE blobs;
DROP TABLE devices;
