"""Babel extractors: gettext calls, plus the texts written plain for a library to show.

click help (`help="..."`, a command's docstring) and key bindings' descriptions and
tooltips stay plain English in the source and are translated once the language is chosen
(`crm_tui.cli.translation`, `crm_tui.i18n.retranslate`); these extractors put them in the
catalog as they will be asked for (docstrings cleaned as click cleans them). babel.cfg maps
crm_tui/cli/ to `extract_click`, the rest to `extract_crm`.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path
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


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value
    return None


def _bindings(tree: ast.AST) -> Iterator[tuple]:
    """Key bindings' descriptions and tooltips: `Binding("e", "edit", "Edit", tooltip=...)`
    (translated where they are shown, `crm_tui.i18n.retranslate`)."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _decorator_name(node) == "Binding"):
            continue
        texts = [node.args[2]] if len(node.args) > 2 else []
        texts += [k.value for k in node.keywords if k.arg in ("description", "tooltip")]
        for text in texts:
            if (value := _string(text)) is not None:
                yield (text.lineno, "", value, [])


def _fields(tree: ast.AST) -> Iterator[tuple]:
    """Record fields' titles: `Field("full_name", ...)` is shown as "Full name" (its `label=`
    when given), as `crm_tui.services.records.Field.title` makes it."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _decorator_name(node) == "Field" and node.args):
            continue
        name = _string(node.args[0])
        if name is None:
            continue
        label = next((_string(k.value) for k in node.keywords if k.arg == "label"), None)
        yield (node.lineno, "", label or name.replace("_", " ").capitalize(), [])


def extract_crm(fileobj, keywords, comment_tags, options: dict[str, Any]) -> Iterator[tuple]:
    """Everything `extract_python` finds, then key bindings' texts and fields' titles."""
    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    tree = ast.parse(fileobj.read().decode(options.get("encoding", "utf-8")))
    yield from _bindings(tree)
    yield from _fields(tree)


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


KEYWORDS = ("_", "gettext", "ngettext:1,2", "pgettext:1c,2", "N_", "NC_:1c,2", "N_plural:1,2",
            "_l", "lazy_gettext")
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


CONTEXT_GLUE = "\x04"
"""Between a message's context and its msgid in a key (gettext's own separator)."""


def extract_messages(root: str | Path) -> dict[str | tuple[str, ...], list[str]]:
    """The messages marked in the source under `root` (as `pybabel extract` finds them with
    babel.cfg): msgid (a tuple for plurals; "context\x04msgid" for one said in a context, as
    gettext's compiled catalogs write it) -> where it is, "path:line"."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_keywords, parse_mapping_cfg

    root = Path(root)
    with open(root / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(list(KEYWORDS))}
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            root, method_map, options_map, keywords=keywords):
        key = message if context is None else f"{context}{CONTEXT_GLUE}{message}"
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def main() -> None:
    """`python -m crm_tui.i18n_extract`: extract, update and compile, from the checkout root."""
    from babel.messages.frontend import CommandLineInterface

    for step in pybabel_steps():
        CommandLineInterface().run(["pybabel", *step])


if __name__ == "__main__":
    main()
