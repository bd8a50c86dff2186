DROP TABLE email_otps;
