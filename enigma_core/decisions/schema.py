"""The decision log's SQLite schema, versioned: each migration runs once, in order.

WAL mode lets server workers and CLI processes write while others read; ``busy_timeout``
makes a briefly locked database wait instead of failing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    # 1: the decisions table and its query indexes
    """
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        text TEXT,
        text_sha256 TEXT NOT NULL,
        intent TEXT NOT NULL,
        confidence REAL NOT NULL,
        via TEXT NOT NULL,
        alternatives TEXT NOT NULL DEFAULT '[]',
        task TEXT,
        plugin TEXT,
        router_sha256 TEXT,
        classify_ms REAL,
        execute_ms REAL,
        status TEXT NOT NULL DEFAULT 'ok'
    );
    CREATE INDEX decisions_ts ON decisions (ts);
    """,
    # 2: shadow router answers and review labels
    """
    ALTER TABLE decisions ADD COLUMN shadow_intent TEXT;
    ALTER TABLE decisions ADD COLUMN shadow_confidence REAL;
    ALTER TABLE decisions ADD COLUMN shadow_sha256 TEXT;
    ALTER TABLE decisions ADD COLUMN label TEXT;
    ALTER TABLE decisions ADD COLUMN labelled_ts REAL;
    """,
)
VERSION = len(MIGRATIONS)


def connect(path: Path, timeout_s: float = 2.0) -> sqlite3.Connection:
    """Open (creating and migrating when needed) the log at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=timeout_s, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to :data:`VERSION` (``PRAGMA user_version`` says where it is)."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > VERSION:
        from enigma_core.errors import EnigmaError

        raise EnigmaError(
            f"decision log schema {current} is newer than this enigma knows ({VERSION}); "
            "upgrade enigma-core"
        )
    for number in range(current, VERSION):
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have migrated while we waited for the write lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] > number:
                continue
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
    return VERSION
