"""Logging, configured in one place: `-v` to stderr, `--log-file`, the services' rotating log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

#: A log file rotates at this size, keeping this many old files beside it.
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5

FILE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
STDERR_FORMAT = "crm: %(levelname)s %(name)s: %(message)s"

# Libraries that talk a lot at INFO (fpdf2's font subsetting): their warnings are enough.
QUIET_LOGGERS = ("fontTools",)

# Marks the handlers installed here, so a second configure() (tests run `crm` in-process
# many times) replaces them instead of stacking them.
_OURS = "_crm_tui_handler"


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (the full-screen app redirects it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; the property wins
        pass


class _BriefFormatter(logging.Formatter):
    """One line per record on the terminal: tracebacks go to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text:
            record = logging.makeLogRecord(record.__dict__)
            record.exc_info = None
            record.exc_text = None
        return super().format(record)


def configure(verbosity: int = 0, log_file: str | Path | None = None,
              service: str | None = None) -> Path | None:
    """Set up the root logger for one run of `crm`; return the log file in use, if any.

    `verbosity` 1 shows INFO on stderr, 2 and more DEBUG. `log_file` appends to that file;
    without it a `service` (the mail worker `sync`, the `intake`) logs to
    `SERVICE.log` in the log directory. Files rotate at MAX_BYTES. A log file that cannot
    be opened is reported on stderr and the run goes on: logging never stops the work.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    if verbosity > 0:
        stderr = _CurrentStderr()
        stderr.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)
        stderr.setFormatter(_BriefFormatter(STDERR_FORMAT))
        handlers.append(stderr)
    path = _log_path(log_file, service)
    if path is not None:
        from logging.handlers import RotatingFileHandler  # only now: `crm list` skips it

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            to_file = RotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
        except OSError as error:
            print(f"crm: warning: cannot write the log {path}: {error.strerror or error}",
                  file=sys.stderr)
            path = None
        else:
            to_file.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
            to_file.setFormatter(logging.Formatter(FILE_FORMAT))
            handlers.append(to_file)
    for handler in handlers:
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    if handlers:
        root.setLevel(min(handler.level for handler in handlers))
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    # Without handlers of ours, Python's last resort still prints warnings to stderr.
    return path


def _log_path(log_file: str | Path | None, service: str | None) -> Path | None:
    if log_file is not None:
        return Path(log_file).expanduser()
    if service is None:
        return None
    from crm_tui import paths

    try:
        return paths.log_dir() / f"{service}.log"
    except OSError as error:
        print(f"crm: warning: no log directory: {error.strerror or error}", file=sys.stderr)
        return None
