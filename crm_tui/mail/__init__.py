"""Low-level mail layer: tokens, parsing, building, SMTP sending and IMAP reading."""
