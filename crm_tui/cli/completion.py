"""`crm completion bash|zsh|fish`: click's shell completion script for `crm`."""

from __future__ import annotations

import click
from click.shell_completion import BashComplete, FishComplete, ZshComplete

#: The environment variable the script sets when it asks `crm` for completions.
COMPLETE_VAR = "_CRM_COMPLETE"

SHELLS = {"bash": BashComplete, "zsh": ZshComplete, "fish": FishComplete}


@click.command("completion")
@click.argument("shell", type=click.Choice(sorted(SHELLS)))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:  eval "$(crm completion bash)"   in ~/.bashrc
    zsh:   eval "$(crm completion zsh)"    in ~/.zshrc
    fish:  crm completion fish > ~/.config/fish/completions/crm.fish
    """
    root = ctx.find_root().command
    script = SHELLS[shell](root, {}, "crm", COMPLETE_VAR).source()
    click.echo(script, nl=not script.endswith("\n"))


COMMANDS = [completion_command]
