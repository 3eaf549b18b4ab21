"""Route-diff: what changes when router A is replaced by router B, as a gate a CI job can run.

``enigma eval router --model A --compare B --data FILE [--max-drop POINTS]`` classifies every
request with both (each with its own oos rule), lists each request whose route changed with both
confidences, the accuracy of each intent under A and B, and fails when B's accuracy is more than
``--max-drop`` points (percentage points) below A's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from enigma_router.evaluate import Prediction


def route_diff(
    a: Sequence[Prediction], b: Sequence[Prediction], max_drop: float = 0.0
) -> dict[str, Any]:
    """The diff of two prediction lists over the same labelled requests (see module doc)."""
    changed = [
        {
            "text": pa.text,
            "gold": pa.gold,
            "a": pa.predicted,
            "a_confidence": round(pa.confidence, 4),
            "b": pb.predicted,
            "b_confidence": round(pb.confidence, 4),
            "fixed": pb.predicted == pb.gold,
            "broken": pa.predicted == pa.gold,
        }
        for pa, pb in zip(a, b, strict=True)
        if pa.predicted != pb.predicted
    ]
    support: Counter[str] = Counter(p.gold for p in a)
    right_a: Counter[str] = Counter(p.gold for p in a if p.predicted == p.gold)
    right_b: Counter[str] = Counter(p.gold for p in b if p.predicted == p.gold)
    per_intent = {
        label: {
            "support": n,
            "a": round(right_a[label] / n, 4),
            "b": round(right_b[label] / n, 4),
            "delta_points": round(100 * (right_b[label] - right_a[label]) / n, 2),
        }
        for label, n in sorted(support.items())
    }
    n = max(len(a), 1)
    acc_a, acc_b = sum(right_a.values()) / n, sum(right_b.values()) / n
    drop = 100 * (acc_a - acc_b)
    return {
        "examples": len(a),
        "accuracy_a": round(acc_a, 4),
        "accuracy_b": round(acc_b, 4),
        "delta_points": round(-drop, 2),
        "changed": changed,
        "fixed": sum(c["fixed"] for c in changed),
        "broken": sum(c["broken"] for c in changed),
        "per_intent": per_intent,
        "max_drop_points": max_drop,
        "passed": drop <= max_drop + 1e-9,
    }


def diff_lines(diff: dict[str, Any], limit: int = 0) -> list[str]:
    """Human-readable form: every changed route (``limit`` > 0 caps it), per-intent deltas."""
    lines = [
        f"{len(diff['changed'])} of {diff['examples']} routes changed "
        f"({diff['fixed']} fixed, {diff['broken']} broken); accuracy "
        f"{diff['accuracy_a']:.4f} -> {diff['accuracy_b']:.4f} ({diff['delta_points']:+.2f} points)"
    ]
    shown = diff["changed"] if limit <= 0 else diff["changed"][:limit]
    for c in shown:
        mark = "fixed" if c["fixed"] else "broken" if c["broken"] else "still wrong"
        lines.append(
            f"  {c['a']} {c['a_confidence']:.2f} -> {c['b']} {c['b_confidence']:.2f}  "
            f"[{mark}, gold {c['gold']}]  {c['text']}"
        )
    if len(shown) < len(diff["changed"]):
        lines.append(f"  ... {len(diff['changed']) - len(shown)} more (--json lists all)")
    moved = [(k, v) for k, v in diff["per_intent"].items() if v["delta_points"]]
    if moved:
        lines.append("accuracy per intent (A -> B):")
        for label, row in sorted(moved, key=lambda kv: kv[1]["delta_points"]):
            lines.append(
                f"  {label:<28} {row['a']:.4f} -> {row['b']:.4f}  "
                f"({row['delta_points']:+.2f} points, {row['support']} requests)"
            )
    verdict = "passed" if diff["passed"] else "FAILED"
    lines.append(
        f"gate {verdict}: B may lose at most {diff['max_drop_points']:g} points, "
        f"it {'lost' if diff['delta_points'] < 0 else 'gained'} {abs(diff['delta_points']):.2f}"
    )
    return lines
