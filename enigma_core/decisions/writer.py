"""Appends decisions off the request path: a buffer and one writer thread per database.

Logging a decision costs a list append; the thread writes batches in one transaction.
A full disk, a locked or corrupt database never fails a request: the writer reports the
problem once on stderr and drops what it could not write. Retention (rows, days) is applied
after writes, at most once a minute.
"""

from __future__ import annotations

import atexit
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from enigma_core.decisions import schema
from enigma_core.decisions.record import Decision

INTERVAL_S = 0.1  # how often the writer wakes to write what was buffered
QUEUE_LIMIT = 50_000  # decisions waiting to be written; beyond this they are dropped (reported)
PRUNE_EVERY_S = 60.0

_writers: dict[Path, DecisionWriter] = {}
_writers_lock = threading.Lock()


def writer_for(path: Path, max_rows: int | None, max_days: float | None) -> DecisionWriter:
    """The process-wide writer of the log at ``path`` (started on first use)."""
    key = path.resolve()
    with _writers_lock:
        found = _writers.get(key)
        if found is None:
            found = _writers[key] = DecisionWriter(key, max_rows, max_days)
        else:
            found.max_rows, found.max_days = max_rows, max_days
        return found


def flush_all(timeout_s: float = 30.0) -> None:
    """Write every queued decision of every writer (called at exit and by tests)."""
    with _writers_lock:
        writers = list(_writers.values())
    for writer in writers:
        writer.flush(timeout_s)


atexit.register(flush_all)


class DecisionWriter:
    """One background thread appending buffered decisions to one SQLite file.

    ``append`` only adds to a list under an uncontended lock (no thread wake-up per decision);
    the thread wakes every :data:`INTERVAL_S` (or on :meth:`flush`) and writes the whole batch
    in one transaction.
    """

    def __init__(self, path: Path, max_rows: int | None, max_days: float | None) -> None:
        self.path = path
        self.max_rows = max_rows
        self.max_days = max_days
        self._buffer: list[Decision | Callable[[], Decision]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._written = threading.Condition()
        self._appended = 0  # decisions handed to append() so far
        self._done = 0  # of those, how many a finished cycle took care of
        self._reported: set[str] = set()
        self._last_prune = 0.0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="enigma-decision-log", daemon=True)
        self._thread.start()

    def append(self, decision: Decision | Callable[[], Decision]) -> None:
        """Buffer ``decision`` (or a builder of it, run on the writer thread) for writing;
        never blocks on the database and never raises."""
        with self._lock:
            self._appended += 1
            if len(self._buffer) < QUEUE_LIMIT:
                self._buffer.append(decision)
                return
            self.dropped += 1
        self._report("queue", f"decision log {self.path}: writer behind, dropping decisions")

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything appended before this call is written (or given up on)."""
        if not self._thread.is_alive():
            return False
        with self._lock:
            target = self._appended
        with self._written:
            self._wake.set()
            return self._written.wait_for(lambda: self._done >= target, timeout_s)

    def _report(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            print(f"enigma: warning: {message} (requests are not affected)", file=sys.stderr)

    def _connect(self) -> sqlite3.Connection | None:
        for attempt in range(5):  # several processes may create or migrate it at once
            try:
                return schema.connect(self.path, timeout_s=10.0)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 4:
                    self._report("open", f"cannot open decision log {self.path}: {exc}")
                    return None
                time.sleep(0.2 * (attempt + 1))
            except Exception as exc:  # the log is optional: report once, keep routing
                self._report("open", f"cannot open decision log {self.path}: {exc}")
                return None
        return None

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while True:
            self._wake.wait(INTERVAL_S)
            self._wake.clear()
            with self._lock:
                pending, self._buffer = self._buffer, []
                taken = self._appended
            batch = [item() if callable(item) else item for item in pending]
            if batch:
                conn = conn or self._connect()
                if conn is None:
                    self.dropped += len(batch)
                elif not self._write(conn, batch):
                    conn.close()
                    conn = None
            with self._written:
                self._done = taken
                self._written.notify_all()

    def _write(self, conn: sqlite3.Connection, batch: list[Decision]) -> bool:
        columns = ", ".join(Decision.COLUMNS)
        marks = ", ".join("?" * len(Decision.COLUMNS))
        try:
            with conn:
                conn.executemany(
                    f"INSERT INTO decisions ({columns}) VALUES ({marks})",
                    [d.row() for d in batch],
                )
            self._prune(conn)
        except sqlite3.Error as exc:
            self.dropped += len(batch)
            self._report("write", f"cannot write decision log {self.path}: {exc}")
            return False
        return True

    def _prune(self, conn: sqlite3.Connection) -> None:
        now = time.time()
        if now - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = now
        with conn:
            if self.max_days is not None:
                conn.execute("DELETE FROM decisions WHERE ts < ?", (now - self.max_days * 86400,))
            if self.max_rows is not None:
                conn.execute(
                    "DELETE FROM decisions WHERE id <= "
                    "(SELECT id FROM decisions ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (self.max_rows,),
                )
