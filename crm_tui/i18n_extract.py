"""Babel extractor for the command line: gettext calls, plus click help and command docstrings.

click help stays plain English in the source (`help="..."`, a command's docstring) and is
translated lazily when `crm` shows it (`crm_tui.cli.translation.lazy_help`); this extractor
puts those texts in the catalog, as click will ask for them (docstrings cleaned like click
cleans them). babel.cfg maps crm_tui/cli/*.py to it.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from typing import Any

from babel.messages.extract import extract_python

_HELP_KEYWORDS = ("help", "short_help", "epilog")
_COMMAND_DECORATORS = ("command", "group")


def _is_click_call(node: ast.AST) -> bool:
    """A call such as `click.option(...)`, `lead_group.command(...)`, `click.argument(...)`."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("option", "argument", "command", "group", "version_option",
                    "confirmation_option", "password_option", "help_option")


def _decorator_name(node: ast.AST) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return getattr(target, "id", "")


def extract_click(fileobj, keywords, comment_tags, options: dict[str, Any]) -> Iterator[tuple]:
    """Everything `extract_python` finds, then click's help texts and command docstrings."""
    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if _is_click_call(node):
            for keyword in node.keywords:
                if (keyword.arg in _HELP_KEYWORDS and isinstance(keyword.value, ast.Constant)
                        and isinstance(keyword.value.value, str) and keyword.value.value.strip()):
                    yield (keyword.value.lineno, "", inspect.cleandoc(keyword.value.value), [])
        elif isinstance(node, ast.FunctionDef):
            if not any(_decorator_name(d) in _COMMAND_DECORATORS for d in node.decorator_list):
                continue
            if any(isinstance(d, ast.Call) and _decorator_name(d) in _COMMAND_DECORATORS
                   and any(k.arg == "help" for k in d.keywords) for d in node.decorator_list):
                continue  # help= wins over the docstring in click
            docstring = ast.get_docstring(node, clean=False)
            if docstring and docstring.strip():
                yield (node.body[0].lineno, "", inspect.cleandoc(docstring), [])


KEYWORDS = ("_", "gettext", "ngettext:1,2", "N_", "_l", "lazy_gettext")
"""The marking functions of `crm_tui.i18n` (as pybabel's `-k` options)."""


def pybabel_steps(root: str = ".") -> list[list[str]]:
    """The pybabel commands that extract the messages, update the catalogs, compile them."""
    locale = f"{root}/crm_tui/locale"
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    return [
        ["extract", "-F", f"{root}/babel.cfg", *keywords, "--no-wrap", "--sort-by-file",
         "--project", "crm-tui", "--copyright-holder", "crm-tui contributors",
         "-o", f"{locale}/crm_tui.pot", root],
        ["update", "-i", f"{locale}/crm_tui.pot", "-d", locale, "-D", "crm_tui",
         "--no-wrap", "--ignore-obsolete"],
        ["compile", "-d", locale, "-D", "crm_tui", "--statistics"],
    ]


def main() -> None:
    """`python -m crm_tui.i18n_extract`: extract, update and compile, from the checkout root."""
    from babel.messages.frontend import CommandLineInterface

    for step in pybabel_steps():
        CommandLineInterface().run(["pybabel", *step])


if __name__ == "__main__":
    main()
