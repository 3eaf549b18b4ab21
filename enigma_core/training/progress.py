"""The training progress bar on stderr (rich): epoch, loss, validation metric, tokens/s, ETA.

Disabled (a no-op) in ``--json`` mode so stdout/stderr stay machine-readable.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class TrainProgress:
    """A rich progress bar over optimizer steps; cheap to update every step."""

    def __init__(
        self, enabled: bool, total_steps: int, epochs: int, metric: str, done_steps: int = 0
    ) -> None:
        self.enabled = enabled
        self.epochs = epochs
        self.metric = metric
        self._tokens = 0
        self._t0 = time.perf_counter()
        self._fields = {"epoch": "", "loss": "-", "val": "-", "tps": "-"}
        self._progress: Progress | None = None
        self._task = None
        if enabled:
            console = Console(file=sys.stderr)
            self._progress = Progress(
                TextColumn("[bold]{task.fields[epoch]}"),
                BarColumn(bar_width=16),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TextColumn(f"{metric} {{task.fields[val]}}"),
                TextColumn("{task.fields[tps]} tok/s"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(compact=True),
                console=console,
                refresh_per_second=5,
            )
            self._task = self._progress.add_task(
                "train", total=total_steps, completed=done_steps, **self._fields
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
        if self._progress is not None:
            self._progress.update(self._task, epoch=f"epoch {epoch + 1}/{self.epochs}")

    def step(self, tokens: int) -> None:
        """Count one optimizer step that consumed ``tokens`` tokens."""
        self._tokens += tokens
        if self._progress is not None:
            self._progress.advance(self._task)

    def tokens_per_s(self) -> float:
        """Training tokens per second since this bar started."""
        span = time.perf_counter() - self._t0
        return self._tokens / span if span > 0 else 0.0

    def show(self, loss: float | None = None, metric: float | None = None) -> None:
        """Update the loss / validation metric / speed fields."""
        if self._progress is None:
            return
        changes = {"tps": f"{self.tokens_per_s():,.0f}"}
        if loss is not None:
            changes["loss"] = f"{loss:.4f}"
        if metric is not None:
            changes["val"] = f"{metric:.4f}"
        self._progress.update(self._task, **changes)

    def log(self, message: str) -> None:
        """A line on stderr above the bar (dropped when the bar is disabled)."""
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
