"""The screens and modals of the crm_tui app."""
