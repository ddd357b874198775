"""`python -m crm_tui` runs the `crm` command."""

from crm_tui.cli import main

main()
