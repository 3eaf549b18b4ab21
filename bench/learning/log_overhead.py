"""Decision-log overhead: in-process classify with the log on vs off, same process, same texts.

Blocks alternate (off, on, off, on, ...) so drift hits both; prints p50 per call and the
throughput ratio. Run: ``.venv/bin/python bench/learning/log_overhead.py`` (1 thread).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    line.split("\t", 1)[-1].strip()
    for line in (REPO / "data/specialized/router_heldout.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
][:200] or ["hello there"]


def block(engine: object, n: int) -> list[float]:
    times = []
    for i in range(n):
        t = time.perf_counter()
        engine.classify(TEXTS[i % len(TEXTS)])  # type: ignore[attr-defined]
        times.append(time.perf_counter() - t)
    return times


def main(blocks: int = 10, per_block: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["ENIGMA_HOME"] = home
        from enigma_core import EnigmaEngine
        from enigma_core.decisions.writer import flush_all

        off = EnigmaEngine(log=False)
        on = EnigmaEngine(source="bench")
        for e in (off, on):
            block(e, 200)  # load the model, warm caches
        flush_all()
        t_off: list[float] = []
        t_on: list[float] = []
        for _ in range(blocks):
            t_off += block(off, per_block)
            t_on += block(on, per_block)
        start = time.perf_counter()
        flush_all(60)
        drain_s = time.perf_counter() - start
    p50_off, p50_on = statistics.median(t_off) * 1e3, statistics.median(t_on) * 1e3
    qps_off, qps_on = len(t_off) / sum(t_off), len(t_on) / sum(t_on)
    print(f"classify p50: log off {p50_off:.4f} ms, log on {p50_on:.4f} ms")
    print(f"throughput:   log off {qps_off:,.0f}/s, log on {qps_on:,.0f}/s")
    print(f"overhead: p50 {p50_on / p50_off - 1:+.1%}, throughput {1 - qps_on / qps_off:+.1%}")
    print(f"(writer drained the last batch in {drain_s * 1e3:.0f} ms; {len(t_on):,} decisions)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
