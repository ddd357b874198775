"""The command line in the user's language: click's help texts and its own messages.

Help texts stay plain English in the source (docstrings and `help=`; `crm_tui.i18n_extract`
extracts them) and are looked up in the catalog once the language is chosen, after import
(`--lang`, the OS locale), and again for commands loaded later.
"""

from __future__ import annotations

import inspect

import click

from crm_tui.i18n import N_, N_plural, gettext, ngettext

_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui",
                  "utils", "shell_completion")


def translate_click() -> None:
    """Let click's own messages ("Usage:", "Show this message and exit.", its errors) go
    through the CRM's catalogs: click calls `gettext` through module-level names."""
    import importlib

    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # a click without that module: nothing of it to translate
            continue
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext


def translate_help(command: click.Command) -> click.Command:
    """Put `command`'s help (and its subcommands' and parameters') in the current language.

    The English source of each text is kept beside it, so calling this again after the
    language changed (`--lang`, the user's) translates afresh: the help texts written at
    import time speak the language chosen after it.
    """
    for attribute in ("help", "short_help", "epilog"):
        _translate_attribute(command, attribute, clean=True)
    for param in command.params:
        _translate_attribute(param, "help", clean=False)
    if getattr(command, "_help_option", None) is not None:
        # click keeps the --help option it made, its text in the language of that moment
        command._help_option = None
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            translate_help(sub)
    return command


def _translate_attribute(owner: object, attribute: str, *, clean: bool) -> None:
    sources = owner.__dict__.setdefault("_crm_help_sources", {})
    if attribute not in sources:
        text = getattr(owner, attribute, None)
        if not (isinstance(text, str) and text.strip()):
            return
        # click cleans a docstring's indentation when it shows it; the catalog has it clean.
        sources[attribute] = inspect.cleandoc(text) if clean else text
    setattr(owner, attribute, gettext(sources[attribute]))


# click's own strings that `crm` shows (click's source marks them with its `_`); the catalogs
# translate them like the CRM's own.
CLICK_MESSAGES = (
    N_("Usage:"), N_("Options"), N_("Commands"), N_("Positional arguments"),
    N_("Show this message and exit."), N_("Show the version and exit."),
    N_("%(prog)s, version %(version)s"),
    N_("Error: {message}"), N_("Try '{command} {option}' for help."),
    N_("No such command {name!r}."), N_("No such option {name!r}."),
    N_("Missing command."), N_("Missing argument"), N_("Missing option"),
    N_("Missing parameter"), N_("Missing parameter: {param_name}"), N_("Missing {param_type}"),
    N_("Invalid value for {param_hint}: {message}"), N_("Invalid value: {message}"),
    N_("Option {name!r} does not take a value."), N_("Aborted!"),
    N_("Do you want to continue?"), N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."), N_("Error: invalid input"),
    N_("{value!r} is not a valid {number_type}."), N_("{value} is not in the range {range}."),
    N_("{name} {filename!r} does not exist."), N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is a file."), N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."), N_("file"), N_("directory"), N_("path"),
    N_("Could not open file {filename!r}: {message}"),
    N_("default: {default}"), N_("env var: {var}"), N_("Choose from:\n\t{choices}"),
    N_("unknown error"),
)

# click's own singular and plural pairs (its source asks for them with `ngettext`).
CLICK_PLURALS = (
    N_plural("Got unexpected extra argument ({args})",
             "Got unexpected extra arguments ({args})"),
    N_plural("Takes {nargs} values but 1 was given.",
             "Takes {nargs} values but {len} were given."),
    N_plural("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    N_plural("Option {name!r} requires an argument.",
             "Option {name!r} requires {nargs} arguments."),
    N_plural("{value!r} is not {choice}.", "{value!r} is not one of {choices}."),
    N_plural("{value!r} does not match the format {format}.",
             "{value!r} does not match the formats {formats}."),
    N_plural("{len_type} values are required, but {len_value} was given.",
             "{len_type} values are required, but {len_value} were given."),
)
