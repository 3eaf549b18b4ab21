"""Reading the decision log: filters for ``enigma logs``, the review queue, labels."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from enigma_core.decisions import schema
from enigma_core.decisions.record import Decision
from enigma_core.errors import EnigmaError

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
REVIEW_MARGIN = 0.15
REVIEW_BELOW = 0.6


def parse_since(value: str, now: float | None = None) -> float:
    """``30m``, ``2h``, ``7d`` ago, or an ISO date/time; a one-line error otherwise."""
    now = time.time() if now is None else now
    match = _AGO.match(value)
    if match:
        return now - float(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise EnigmaError(
            f"--since {value!r}: give an age (30m, 2h, 7d) or a date (2026-11-30 or "
            "2026-11-30T14:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@dataclass
class LogFilter:
    """What ``enigma logs`` asks for; None means no constraint."""

    limit: int = 20
    intent: str | None = None
    via: str | None = None
    below: float | None = None
    since: float | None = None
    disagreements: bool = False
    review: bool = False


def open_log(path: Path) -> sqlite3.Connection:
    """Open the log for reading; a missing file is a one-line error naming it."""
    if not path.is_file():
        raise EnigmaError(f"{path}: no decision log yet (route or classify something first)")
    try:
        return schema.connect(path)
    except sqlite3.Error as exc:
        raise EnigmaError(f"{path}: cannot read the decision log: {exc}") from None


def select(conn: sqlite3.Connection, f: LogFilter) -> list[Decision]:
    """The newest decisions matching ``f``, newest first."""
    where: list[str] = []
    args: list[Any] = []
    if f.intent is not None:
        where.append("intent = ?")
        args.append(f.intent)
    if f.via is not None:
        where.append("via = ?")
        args.append(f.via)
    if f.below is not None:
        where.append("confidence < ?")
        args.append(f.below)
    if f.since is not None:
        where.append("ts >= ?")
        args.append(f.since)
    if f.disagreements:
        where.append("shadow_intent IS NOT NULL AND shadow_intent != intent")
    if f.review:
        where.append("label IS NULL")
        where.append(review_condition())
        args.extend([REVIEW_BELOW])
    sql = "SELECT * FROM decisions"
    if where:
        sql += " WHERE " + " AND ".join(f"({w})" for w in where)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(f.limit)
    rows = conn.execute(sql, args).fetchall()
    out = [Decision.from_row(dict(r)) for r in rows]
    if f.review:
        out = [d for d in out if review_reason(d) is not None]
    return out


def review_condition() -> str:
    """SQL pre-filter of decisions worth a look (the exact reasons are in review_reason)."""
    return (
        "intent IN ('oos', 'out_of_scope') OR via IN ('keywords', 'default') "
        "OR confidence < ? OR alternatives != '[]'"
    )


def review_reason(d: Decision) -> str | None:
    """Why a person should look at ``d``, or None: oos, fallback, low confidence, close call."""
    if d.intent in ("oos", "out_of_scope"):
        return "out of scope"
    if d.via == "default":
        return "no route matched (default task)"
    if d.via == "keywords":
        return "keyword fallback"
    if d.confidence < REVIEW_BELOW:
        return f"low confidence ({d.confidence:.2f})"
    if d.alternatives and d.confidence - float(d.alternatives[0][1]) < REVIEW_MARGIN:
        runner, p = d.alternatives[0]
        return f"close call with {runner} ({p:.2f})"
    return None


def get(conn: sqlite3.Connection, decision_id: int) -> Decision:
    """One decision by id; a one-line error when there is none."""
    row = conn.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,)).fetchone()
    if row is None:
        raise EnigmaError(f"no decision with id {decision_id} in the log")
    return Decision.from_row(dict(row))


def set_label(conn: sqlite3.Connection, decision_id: int, label: str) -> None:
    """Record the label a person gave decision ``decision_id``."""
    with conn:
        conn.execute(
            "UPDATE decisions SET label = ?, labelled_ts = ? WHERE id = ?",
            (label, time.time(), decision_id),
        )


def status(conn: sqlite3.Connection) -> dict[str, Any]:
    """Row count, time span and schema version (``enigma logs status``)."""
    count, first, last = conn.execute("SELECT COUNT(*), MIN(ts), MAX(ts) FROM decisions").fetchone()
    return {
        "decisions": count,
        "first": first,
        "last": last,
        "schema": conn.execute("PRAGMA user_version").fetchone()[0],
    }
