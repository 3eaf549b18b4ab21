"""Training progress on stderr: a rich bar on a terminal, plain lines when stderr is piped.

A piped or redirected stderr (CI logs, ``2>log``, ``| tee``) gets one plain line per epoch and
one at least every :data:`PLAIN_EVERY` seconds inside long epochs, so a long command is never
silent. Disabled (a no-op) in ``--json`` mode so stdout/stderr stay machine-readable.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, TextIO

PLAIN_EVERY = 30.0
"""Seconds between plain progress lines inside an epoch (piped stderr)."""


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class TrainProgress:
    """Progress over optimizer steps; cheap to update every step."""

    def __init__(
        self,
        enabled: bool,
        total_steps: int,
        epochs: int,
        metric: str,
        done_steps: int = 0,
        stream: TextIO | None = None,
    ) -> None:
        """A bar (terminal), plain lines (piped stderr) or nothing (``enabled`` False)."""
        self.enabled = enabled
        self.epochs = epochs
        self.metric = metric
        self.total = total_steps
        self.done = done_steps
        self.stream = stream or sys.stderr
        self._tokens = 0
        self._t0 = time.perf_counter()
        self._last_line = self._t0
        self._epoch = 0
        self._fields = {"epoch": "", "loss": "-", "val": "-", "tps": "-"}
        self._progress: Any = None
        self._task: Any = None
        self.plain = enabled and not _is_terminal(self.stream)
        if enabled and not self.plain:
            self._start_bar()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.fields[epoch]}"),
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn(f"{self.metric} {{task.fields[val]}}"),
            TextColumn("{task.fields[tps]} tok/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(compact=True),
            console=Console(file=self.stream),
            refresh_per_second=5,
        )
        self._task = self._progress.add_task(
            "train", total=self.total, completed=self.done, **self._fields
        )

    def __enter__(self) -> TrainProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def epoch(self, epoch: int) -> None:
        """Show that epoch ``epoch`` (0-based) started."""
        self._epoch = epoch
        if self._progress is not None:
            self._progress.update(self._task, epoch=f"epoch {epoch + 1}/{self.epochs}")

    def step(self, tokens: int) -> None:
        """Count one optimizer step that consumed ``tokens`` tokens."""
        self._tokens += tokens
        self.done += 1
        if self._progress is not None:
            self._progress.advance(self._task)
        elif self.plain and time.perf_counter() - self._last_line >= PLAIN_EVERY:
            self._line(None, None)

    def tokens_per_s(self) -> float:
        """Training tokens per second since this bar started."""
        span = time.perf_counter() - self._t0
        return self._tokens / span if span > 0 else 0.0

    def show(
        self, loss: float | None = None, metric: float | None = None, epoch_end: bool = False
    ) -> None:
        """Update the loss / validation metric / speed; a plain line at each epoch's end."""
        if self.plain:
            if epoch_end:
                self._line(loss, metric)
            return
        if self._progress is None:
            return
        changes = {"tps": f"{self.tokens_per_s():,.0f}"}
        if loss is not None:
            changes["loss"] = f"{loss:.4f}"
        if metric is not None:
            changes["val"] = f"{metric:.4f}"
        self._progress.update(self._task, **changes)

    def _line(self, loss: float | None, metric: float | None) -> None:
        """One plain progress line (piped stderr)."""
        parts = [f"epoch {self._epoch + 1}/{self.epochs}", f"step {self.done}/{self.total}"]
        if loss is not None:
            parts.append(f"loss {loss:.4f}")
        if metric is not None:
            parts.append(f"{self.metric} {metric:.4f}")
        parts.append(f"{time.perf_counter() - self._t0:.1f} s")
        self.log("  ".join(parts))
        self._last_line = time.perf_counter()

    def log(self, message: str) -> None:
        """A line on stderr (above the bar on a terminal; dropped when disabled)."""
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        elif self.plain:
            print(message, file=self.stream, flush=True)
