"""The mail layer: transport (SMTP, IMAP) and parsing only; filing is in crm_tui.services."""
