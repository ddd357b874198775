"""Modal dialogs: each collects parameters and returns a typed result."""
