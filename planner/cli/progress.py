"""Progress bars on stderr (rich) for the library's long work, when stderr is a terminal.

Every long command takes ``--quiet``; without it, and with stderr a terminal, the tasks the
library reports (planner.progress) show as transient bars: nothing stays on screen after
the command, nothing goes to stdout, nothing is shown in pipes, files or CI logs.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import typer

QUIET = typer.Option(False, "--quiet", "-q", help="No progress display on stderr (it shows only on a terminal).")


def stderr_is_terminal() -> bool:
    """Progress only on an interactive terminal (never in pipes, files or CI logs)."""
    return sys.stderr.isatty()


class RichListener:
    """planner.progress tasks as rich progress bars on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(stderr=True, force_terminal=True, highlight=False, emoji=False)
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,  # stdout is the command's output (one JSON document): never touched
            redirect_stderr=True,  # messages printed meanwhile appear above the bars
        )
        self.ids: dict[int, int] = {}

    def start(self, key: int, description: str, total: float | None) -> None:
        self.ids[key] = self.bars.add_task(description, total=total)

    def update(self, key: int, *, done: float, total: float | None, description: str) -> None:
        if key in self.ids:
            self.bars.update(self.ids[key], completed=done, total=total, description=description)

    def stop(self, key: int) -> None:
        task = self.ids.pop(key, None)
        if task is not None:
            self.bars.remove_task(task)


@contextlib.contextmanager
def shown(quiet: bool) -> Iterator[None]:
    """Show the library's progress inside the block (unless ``quiet`` or stderr is not a terminal)."""
    from planner.progress import listening

    if quiet or not stderr_is_terminal():
        with listening(None):
            yield
        return
    listener = RichListener()
    with listener.bars, listening(listener):
        yield
