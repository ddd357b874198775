"""Document templates (HTML) rendered by a bounded Jinja2 sandbox over plain data.

Templates are user input. They are rendered by Jinja2's `SandboxedEnvironment` (no
attribute of a Python object beyond plain data, no import, no file access) with
autoescape on, and with bounds the sandbox alone does not give:

- time: a per-thread trace hook checks a deadline at every Python call the rendering
  makes (each loop over `range`, each filter, each attribute lookup is one), so a template
  that loops for ever stops with an error; it works on any thread (a TUI worker too);
- size: output is produced piece by piece and refused past `MAX_OUTPUT` characters, and
  `*` / `**` on strings, lists or numbers refuse results that would be huge;
- errors: one line naming what is wrong ("'compny' is undefined", "line 3: ...").

Values reach the page escaped; a multi-line value (an address) keeps its line breaks.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any

from crm_tui.documents import TemplateError
from crm_tui.i18n import N_, _

MAX_OUTPUT = 500_000  # characters of HTML; an invoice or a contract is a few pages
TIME_LIMIT = 3.0  # seconds of template evaluation
MAX_SEQUENCE = 100_000  # the longest string or list `*` may build (Jinja's own range cap)
MAX_EXPONENT = 100


def _finalize(value: Any) -> Any:
    """Every `{{ value }}` as text: None prints nothing, line breaks become <br>."""
    from markupsafe import Markup, escape

    if value is None:
        return ""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    if "\n" not in value and "\r" not in value:
        return value
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Markup("<br>").join(escape(line) for line in lines)


@cache
def environment() -> Any:
    """The one sandbox every document template is compiled in (built on first use)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment, SecurityError

    class BoundedSandbox(SandboxedEnvironment):
        """A sandbox whose `*` and `**` cannot build huge strings, lists or numbers."""

        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is too large")
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if (isinstance(seq, str | list | tuple) and isinstance(times, int)
                            and len(seq) * times > MAX_SEQUENCE):
                        raise SecurityError("repetition too large")
            return super().call_binop(context, operator, left, right)

    return BoundedSandbox(autoescape=True, undefined=StrictUndefined, finalize=_finalize,
                          trim_blocks=True, lstrip_blocks=True, auto_reload=False)


@lru_cache(maxsize=64)
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def check_syntax(source: str, what: str = N_("template"), max_size: int = MAX_OUTPUT) -> Any:
    """The compiled template; TemplateError naming the line of a syntax error."""
    from jinja2 import TemplateSyntaxError

    if not isinstance(source, str):
        raise TemplateError(_("{what} must be text").format(what=_(what)))
    if len(source) > max_size:
        raise TemplateError(_("{what} is {count} characters; the limit is {max_size}").format(what=_(what), count=len(source), max_size=max_size))
    try:
        return _compiled(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(_("{what}, line {lineno}: {message}").format(what=_(what), lineno=exc.lineno, message=exc.message)) from None
    except RecursionError:
        raise TemplateError(_("{what} is nested too deeply").format(what=_(what))) from None


@contextmanager
def _deadline(seconds: float, what: str) -> Iterator[None]:
    """Stop the code run inside (on this thread only) once `seconds` have passed."""
    end = time.monotonic() + seconds
    previous = sys.gettrace()

    def tracer(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and time.monotonic() > end:
            raise TemplateError(_("{what} took longer than {seconds:g} s to render").format(what=_(what), seconds=seconds))
        return None  # no per-line tracing: only calls are checked

    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


def render(source: str, data: Mapping[str, Any], *, what: str = N_("template"),
           max_output: int = MAX_OUTPUT, time_limit: float = TIME_LIMIT) -> str:
    """Render a document template with plain data (dicts, lists, strings, numbers).

    Raises TemplateError with one line: a syntax error (with its line), an unknown name
    ("'compny' is undefined"), a forbidden operation, output over `max_output` characters
    or evaluation over `time_limit` seconds.
    """
    from jinja2 import UndefinedError
    from jinja2.sandbox import SecurityError

    template = check_syntax(source, what, max_output)
    pieces: list[str] = []
    size = 0
    try:
        with _deadline(time_limit, what):
            for piece in template.generate(dict(data)):
                size += len(piece)
                if size > max_output:
                    raise TemplateError(_("{what} renders to more than {max_output} characters").format(what=_(what), max_output=max_output))
                pieces.append(piece)
    except TemplateError:
        raise
    except UndefinedError as exc:
        raise TemplateError(_("{what}: {message}").format(what=_(what), message=exc.message)) from None
    except SecurityError as exc:
        raise TemplateError(_("{what}: not allowed: {exc}").format(what=_(what), exc=exc)) from None
    except RecursionError:
        raise TemplateError(_("{what} recurses too deeply").format(what=_(what))) from None
    except Exception as exc:  # noqa: BLE001 - a user's template must not crash the caller
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TemplateError(_("{what} cannot be rendered: {reason}").format(what=_(what), reason=reason)) from None
    return "".join(pieces)
