"""The `crm` command: the full-screen app by default, and a scripting interface.

Data goes to stdout, diagnostics to stderr, one line each, with the exit codes of
`crm_tui.cli.exit_codes`. Heavy imports (the TUI, PDF, IMAP) happen inside the commands.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from functools import partial

import click

import crm_tui.i18n as i18n

# First: peewee loads without psycopg, which only PostgreSQL runs need (crm_tui.pg_driver).
from crm_tui import pg_driver  # noqa: F401  # isort: split
from crm_tui.cli import translation
from crm_tui.cli.exit_codes import ExitCode, error_lines, exit_code_for
from crm_tui.cli.state import CliState
from crm_tui.errors import CrmError, ServerUnreachable

log = logging.getLogger("crm_tui.cli")

#: Exit status after the reader of our output went away (`crm list … | head`): 128 + SIGPIPE,
#: what a shell reports for a tool the closed pipe ended.
EXIT_BROKEN_PIPE = 141


class CrmGroup(click.Group):
    """A click group that turns domain errors into one line and an exit code."""

    def main(self, *args, **kwargs):
        """Each run starts in the OS locale's language (help included); `--lang` and the
        user's language may change it once known."""
        i18n.clear_override()
        i18n.use_os_language()
        translation.translate_help(self)
        return super().main(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """`--lang` acts before crm's other options wherever it is among them, so
        `crm --help --lang es` speaks Spanish too (click runs eager options in the order
        they are typed)."""
        return super().parse_args(ctx, _language_first(self, args))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in LAZY_COMMANDS:
            command = _lazy_command(name)
            self.add_command(command, name)
        return command

    def invoke(self, ctx: click.Context):
        try:
            with _document_warnings():
                return super().invoke(ctx)
        except CrmError as error:
            log.info("refused: %s", error)
            for line in error_lines(error):
                click.echo(line, err=True)
            ctx.exit(int(exit_code_for(error)))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            _output_closed()
            ctx.exit(EXIT_BROKEN_PIPE)
        except KeyboardInterrupt:
            click.echo(i18n._("crm: interrupted"), err=True)
            ctx.exit(130)
        except Exception as error:  # noqa: BLE001 - the last line of defence: never a traceback
            import peewee

            if _refused_by_server(error):
                # Row-level security or a missing privilege (crm_tui.rls): the server is
                # the last guard behind the services' own checks.
                log.info("refused by the database: %s", _first_line(error))
                click.echo(i18n._("crm: error: the database refused: {reason}").format(
                    reason=_first_line(error)), err=True)
                ctx.exit(int(ExitCode.DENIED))
            # The whole story (traceback included) goes to the log, if there is one; never
            # to the terminal through Python's last-resort handler.
            if logging.getLogger().handlers:
                log.error("failed: %s: %s", type(error).__name__, _first_line(error),
                          exc_info=True)
            if isinstance(error, peewee.OperationalError | peewee.InterfaceError):
                message = str(ServerUnreachable(i18n._("database error: {reason}").format(
                    reason=_first_line(error))))
                click.echo(i18n._("crm: error: {message}").format(message=message), err=True)
                ctx.exit(int(ExitCode.UNREACHABLE))
            click.echo(i18n._("crm: error: unexpected {name}: {reason}").format(
                name=type(error).__name__, reason=_first_line(error)), err=True)
            ctx.exit(int(ExitCode.REJECTED))


@contextlib.contextmanager
def _document_warnings():
    """Print what the documents a command made warn about (characters no font could
    draw...) on stderr, one line each, whatever the command's outcome: they are no errors."""
    from crm_tui.documents import collect_warnings  # the light package root

    with collect_warnings() as warnings:
        try:
            yield
        finally:
            for warning in warnings:
                click.echo(i18n._("crm: warning: {message}").format(message=warning), err=True)


def _output_closed() -> None:
    """The reader of stdout went away: send what is still buffered nowhere, quietly.

    Python's own advice for a closed pipe: point stdout at /dev/null so the flush at exit
    does not fail a second time and print "Exception ignored".
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (tests capture it): nothing to redirect
        pass


def _refused_by_server(error: BaseException) -> bool:
    """True for PostgreSQL's "insufficient privilege" (SQLSTATE 42501), which row-level
    security and column privileges raise; peewee keeps the driver's error as its cause."""
    for cause in (error, error.__cause__, error.__context__, *getattr(error, "args", ())):
        if getattr(cause, "sqlstate", None) == "42501":
            return True
    return False


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@click.group(cls=CrmGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_target", metavar="URL_OR_PATH",
              help="Database file or postgresql:// URL (default: CRM_DB, then the data dir).")
@click.option("--user", "user_login", metavar="LOGIN",
              help="Act as another CRM user (password from CRM_PASSWORD or a prompt).")
@click.option("--demo", is_flag=True, help="Use the demo database (filled on first use).")
@click.option("--sync", is_flag=True, help="Headless: one pass of mailbox ingest, then exit.")
@click.option("--watch", is_flag=True, help="With --sync: keep going (IMAP IDLE or polling).")
@click.option("-v", "--verbose", count=True,
              help="Log to stderr: -v what happens, -vv every detail (SQL included).")
@click.option("--log-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Append the log to FILE (rotating); --sync and intake log by default.")
@click.option("--lang", metavar="LANG", is_eager=True, expose_value=False,
              callback=lambda ctx, param, value: _choose_language(ctx, value),
              help="Speak LANG (en, es) for this run, whatever the user's language.")
@click.version_option(package_name="crm-tui", prog_name="crm")
@click.pass_context
def cli(ctx: click.Context, db_target, user_login, demo, sync, watch, verbose,
        log_file) -> None:
    """crm: a customer-relationship manager that lives in the terminal."""
    from crm_tui import logs

    service = "sync" if sync else SERVICE_COMMANDS.get(ctx.invoked_subcommand or "")
    logs.configure(verbose, log_file, service=service)
    log.info("crm %s%s", ctx.invoked_subcommand or ("--sync" if sync else "(app)"),
             f" as {user_login}" if user_login else "")
    ctx.obj = CliState(db_target=db_target, user_login=user_login, demo=demo)
    _restrict_new_files()
    ctx.obj.skip_unused_drivers()
    if ctx.invoked_subcommand is not None:
        if sync or watch:
            raise click.UsageError(i18n._("--sync cannot be combined with a command"))
        if ctx.invoked_subcommand in COMMAND_EXTRAS:
            from crm_tui.extras import require_extra

            require_extra(COMMAND_EXTRAS[ctx.invoked_subcommand])
        return
    if watch and not sync:
        raise click.UsageError(i18n._("--watch goes with --sync"))
    if sync:
        from crm_tui.cli.sync import run_sync

        status = run_sync(ctx.obj, watch=watch)
        log.info("sync ended with exit status %d", status)
        ctx.exit(status)
    run_app(ctx.obj)


def _language_first(command: click.Command, args: list[str]) -> list[str]:
    """`args` with a `--lang` among the command's own options (those before the
    subcommand) moved to the front."""
    takes_value = {name for param in command.params if isinstance(param, click.Option)
                   and not param.is_flag and not param.count for name in param.opts}
    position = 0
    while position < len(args):
        token = args[position]
        if token == "--lang" and position + 1 < len(args):
            return [*args[position:position + 2], *args[:position], *args[position + 2:]]
        if token.startswith("--lang="):
            return [token, *args[:position], *args[position + 1:]]
        if token == "--" or not token.startswith("-"):
            break  # the subcommand (or operands): its options are its own
        position += 2 if token in takes_value else 1
    return args


def _choose_language(ctx: click.Context, value: str | None) -> None:
    """`--lang`: validated before anything else is read, so `--help` speaks it too."""
    if ctx.resilient_parsing:
        return
    if value is None:
        # Each run starts from the OS locale (one process may run `crm` many times).
        i18n.clear_override()
        i18n.use_os_language()
    else:
        try:
            i18n.override_language(value)
        except i18n.UnknownLanguage:
            known = ", ".join(i18n.available_languages())
            click.echo(i18n._("crm: error: unknown language {value!r} for --lang "
                              "(known: {known})").format(value=value, known=known), err=True)
            ctx.exit(int(ExitCode.USAGE))
    translation.translate_help(ctx.command)


def _restrict_new_files() -> None:
    """What this process creates (database, attachments, quarantined mail, exports) is
    for its owner only, or for the group too when the data dir is shared."""
    import os

    from crm_tui import paths

    os.umask(paths.process_umask())


def run_app(state: CliState) -> None:
    """Start the full-screen app (imports Textual only now).

    The app draws its first frame before the database is opened: the session opens on a
    thread behind the start screen. Only `--user` opens it first, as it may have to ask
    for a password on the terminal. What stops the start is reported here, after the
    terminal is restored, as one line and an exit code like any command's error.
    """
    session = _open_session(state) if state.user_login is not None else None
    try:
        from crm_tui.app import make_app
    except ImportError as error:
        raise click.ClickException(i18n._("the full-screen app is not available: {reason}")
                                   .format(reason=error)) from None
    start_message = (i18n._("Opening the demo database (filled on first use)…") if state.demo
                     else i18n._("Opening the database…"))
    app = make_app(session, open_session=partial(_open_session, state),
                   start_message=start_message)
    app.run()
    if app.start_error is not None:
        raise app.start_error


def _open_session(state: CliState):
    """The session the app opens on its start thread (the demo is filled on first use)."""
    return state.session()


#: Commands whose module loads only when the command runs (or help lists it): start-up of
#: `crm list …` does not pay for the import, PDF, mail and intake commands.
LAZY_COMMANDS = {
    "import": ("transfer", "import_command"),
    "export": ("transfer", "export_command"),
    "lead": ("lead", "lead_group"),
    "invoice": ("invoice", "invoice_group"),
    "contract": ("contract", "contract_group"),
    "intake": ("intake", "intake_command"),
    "demo-data": ("demo_data", "demo_data_command"),
    "attach": ("attach", "attach_command"),
    "attachment": ("attachment", "attachment_group"),
    "passwd": ("passwd", "passwd_command"),
    "history": ("history", "history_command"),
    "note": ("note", "note_group"),
    "stats": ("stats", "stats_command"),
    "search": ("search", "search_group"),
    "completion": ("completion", "completion_command"),
    "setup": ("setup", "setup_group"),
    "backup": ("backup", "backup_command"),
    "restore": ("backup", "restore_command"),
    "outbox": ("outbox", "outbox_group"),
    "privacy": ("privacy", "privacy_group"),
    "merge": ("merge", "merge_command"),
    "mail": ("mail", "mail_group"),
    "db": ("db", "db_group"),
}

#: Commands that need an optional part (`crm-tui[EXTRA]`); asked before the command runs.
COMMAND_EXTRAS = {"intake": "intake"}

#: Long-running commands that keep a rotating log (under `paths.log_dir()`) by default.
SERVICE_COMMANDS = {"intake": "intake"}


def _lazy_command(name: str) -> click.Command | None:
    import importlib

    module_name, attribute = LAZY_COMMANDS[name]
    module = importlib.import_module(f"crm_tui.cli.{module_name}")
    if name == "lead":
        # The mail commands (reply, forward) join the lead group from their own module.
        importlib.import_module("crm_tui.cli.lead_mail")
    return translation.translate_help(getattr(module, attribute))


def _register_commands() -> None:
    from crm_tui.cli import config, records

    for module in (records, config):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()
translation.translate_click()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `crm` console script (click exits 2 on usage errors).

    Shell completion is click's: `_CRM_COMPLETE=bash_source crm` (or `crm completion bash`).
    """
    try:
        try:
            cli.main(args=argv, prog_name="crm", complete_var="_CRM_COMPLETE")
        finally:
            # Output still buffered meets a closed pipe here, not in Python's exit handler.
            sys.stdout.flush()
    except BrokenPipeError:
        _output_closed()
        sys.exit(EXIT_BROKEN_PIPE)
