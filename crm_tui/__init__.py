"""crm_tui: a customer-relationship manager that lives in the terminal."""

__version__ = "0.1.0"
