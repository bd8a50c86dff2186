DROP TABLE rendezvous;
