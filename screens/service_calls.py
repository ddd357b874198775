"""Service calls run on worker threads, their results and errors delivered to the screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.worker import Worker, get_current_worker

from crm_tui.errors import error_text


def run_service(
    node: Any,
    fn: Callable[..., Any],
    *args: Any,
    done: Callable[[Any], Any] | None = None,
    failed: Callable[[BaseException], Any] | None = None,
    group: str = "service",
    exclusive: bool = False,
    description: str = "",
) -> Worker[None]:
    """Run `fn(*args)` on a thread worker of `node` (a screen or widget); then
    `done(result)` or `failed(error)` runs on the event loop.

    Without `failed`, an error is shown as a one-line notification. Nothing is delivered
    once `node` has left the screen, or when a newer exclusive call replaced this one.
    Callbacks may be async; the worker ends once they are done.
    """
    app = node.app

    def deliver(callback: Callable[[Any], Any], value: Any) -> None:
        if get_current_worker().is_cancelled:
            return

        def call() -> Any:
            # An async callback is awaited before the worker ends (mounting a form, say).
            return callback(value) if node.is_attached else None

        try:
            app.call_from_thread(call)
        except RuntimeError:  # the app is closing
            pass

    def work() -> None:
        try:
            result = fn(*args)
        except Exception as error:  # noqa: BLE001 - reported on the loop, never lost
            deliver(failed or (lambda e: notify_error(node, e)), error)
        else:
            if done is not None:
                deliver(done, result)

    return node.run_worker(
        work,
        thread=True,
        group=group,
        exclusive=exclusive,
        exit_on_error=False,
        description=description or getattr(fn, "__name__", "service call"),
    )


def notify_error(node: Any, error: BaseException) -> None:
    """Tell the user what went wrong, in one line."""
    node.notify(error_text(error), severity="error", timeout=8)

