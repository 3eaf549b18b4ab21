"""Rejection scores of the router on banking77-oos / hwu64-oos, valid and test, several seeds.

What issue 16's "which in-scope requests get rejected" figures come from: for each dataset and
seed, the router is trained on ``train`` (``valid`` calibrates it, as in ``make bench``), then
every candidate score below gets its threshold on ``valid``'s in-scope requests at the budget
(``unknown.threshold_at``, the rule of ``bench_oos.py`` for every system) and is scored on both
splits: in-scope accuracy (correct and not rejected), oos recall, in-scope rejected. Means over
the seeds. Signals are in z-units of the in-scope validation requests:
``dist`` (1 - max cosine to the predicted intent's training examples, hidden layer),
``nlp`` (-log max probability), ``margin`` (top-2 probability gap, negated), ``energy``,
``nlpm`` / ``lin`` (-log / - probability of the predicted intent by the MLP / linear member alone),
``knngap`` (nearest example of another intent minus of the predicted one), ``dist3``/``cdist``/
``anydist`` (3-nearest mean, centroid, nearest over all intents), ``centred`` (``dist`` minus the
predicted intent's centre, ``unknown.intent_centres``: what the router ships since session 7).

``--margins`` also scores TF-IDF+LR and MiniLM+LR on ``valid`` (their threshold on its in-scope
requests, as in ``make bench``) and prints, per candidate, the worst of our four validation
margins (in-scope accuracy and oos recall, both sets) to the better baseline: the rule that
chooses ``unknown.DEFAULT_DOUBT`` (validation only).

``--bound`` also prints, per seed, the best test in-scope accuracy over about 200 linear mixes
*picked on test* (with test oos recall above ``--floor``): an upper bound of what choosing the
score could give, not a result (picking on test is not allowed for shipped choices).

Usage: ``python bench/router/oos_scores.py [--root ../shared/benchmarks] [--seeds 0 1 2]
[--work DIR] [--bound --floor b77=57.06 hwu=54.04] [--margins] [--detail]
[--budgets 0.05 0.1]``. One thread; models are kept in ``--work``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BUDGET = 0.10
NEGATED = {"pmax", "margin", "pm_pred", "pl_pred"}


def _softmax(z: np.ndarray, t: float) -> np.ndarray:
    z = z / t
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def train(root: Path, ds: str, seed: int, work: Path) -> Path:
    """The router of ``ds`` and ``seed`` (trained once, then reused from ``work``)."""
    from enigma_router.recipe import make_router_recipe

    from enigma_core.training.run import TrainArgs, run_training

    out = work / f"{ds}-s{seed}"
    if (out / "config.json").exists() and not _centred(out):
        shutil.rmtree(out)  # trained before the centred score: its signals would mislead
    if not (out / "config.json").exists():
        folder = root / ds
        args = TrainArgs(
            out=out,
            data=(folder / "train.jsonl",),
            valid=folder / "valid.jsonl",
            progress=False,
            threads=1,
            seed=seed,
            checkpoint_every=0,
            checkpoint_seconds=0,
        )
        run_training(make_router_recipe(None), args)
    return out


def _centred(out: Path) -> bool:
    """Whether the router in ``out`` stores its intents' centres (trained since session 7)."""
    from enigma_router.inference import RouterModel

    return RouterModel.load(out).ex_centre is not None


def signals(model: Any, texts: list[str], gold: list[str]) -> dict[str, np.ndarray]:
    """Every candidate signal of ``texts`` (see module doc) plus gold/pred/correct."""
    from enigma_router.unknown import normalise

    index = {label: i for i, label in enumerate(model.labels)}
    g = np.array([index.get(x, -1) for x in gold])
    acc = model.bag_sums(texts)
    width = model.emb_bias.shape[0]
    h = np.maximum(acc[:, :width] + model.emb_bias, 0.0)
    mlp = h @ model.out_w + model.out_b
    lin = model.linear_weight * (acc[:, width:] + model.linear_bias) if model.has_linear else mlp
    logits = model._head(acc)
    t = max(model.calibration.temperature, 1e-6)
    p = _softmax(logits, t)
    pred = p.argmax(axis=1)
    rows = np.arange(len(g))
    offsets = np.asarray(model.ex_offsets)
    ex = model.example_vectors()
    sims = normalise(h) @ ex.T
    n_labels = len(model.labels)
    best = np.full((len(g), n_labels), -1.0)
    top3 = np.full((len(g), n_labels), -1.0)
    cent = np.zeros((n_labels, ex.shape[1]), np.float32)
    for c in range(n_labels):
        s, e = int(offsets[c]), int(offsets[c + 1])
        if e > s:
            part = sims[:, s:e]
            best[:, c] = part.max(axis=1)
            top3[:, c] = np.sort(part, axis=1)[:, -min(3, e - s) :].mean(axis=1)
            cent[c] = ex[s:e].mean(axis=0)
    ccos = normalise(h) @ normalise(cent).T
    other = best.copy()
    other[rows, pred] = -2.0
    ps = np.sort(p, axis=1)
    m = logits.max(axis=1, keepdims=True)
    return {
        "g": g,
        "pred": pred,
        "ins": g >= 0,
        "correct": pred == g,
        "shipped": model.unknown(acc, pred, p.max(axis=1)),
        "dist": 1.0 - best[rows, pred],
        "nlp": -np.log(np.clip(p.max(axis=1), 1e-12, None)),
        "pmax": p.max(axis=1),
        "margin": ps[:, -1] - ps[:, -2],
        "energy": -(m[:, 0] + t * np.log(np.exp((logits - m) / t).sum(axis=1))),
        "nlpm": -np.log(np.clip(_softmax(mlp, t)[rows, pred], 1e-12, None)),
        "pl_pred": _softmax(lin, t)[rows, pred],
        "knngap": other.max(axis=1) - best[rows, pred],
        "dist3": 1.0 - top3[rows, pred],
        "cdist": 1.0 - ccos[rows, pred],
        "anydist": 1.0 - best.max(axis=1),
        "centred": 1.0
        - best[rows, pred]
        - (0.0 if model.ex_centre is None else model.ex_centre[pred]),
    }


def _z(v: dict[str, np.ndarray], t: dict[str, np.ndarray], name: str) -> tuple[Any, Any]:
    sign = -1.0 if name in NEGATED else 1.0
    a, b = sign * v[name], sign * t[name]
    ref = a[v["ins"]]
    mu, sd = ref.mean(), ref.std() or 1.0
    return (a - mu) / sd, (b - mu) / sd


def mix(v: dict, t: dict, parts: list[tuple[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sum of z-scored signals, on valid and test."""
    sv, st = np.zeros(len(v["g"])), np.zeros(len(t["g"]))
    for name, w in parts:
        a, b = _z(v, t, name)
        sv, st = sv + w * a, st + w * b
    return sv, st


def per_intent_offset(v: dict, t: dict, w: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """dist + w nlp minus its predicted intent's (shrunk) mean over in-scope validation."""
    sv, st = mix(v, t, [("dist", 1.0), ("nlp", w)])
    n_labels = int(max(v["pred"].max(), t["pred"].max())) + 1
    m = v["ins"]
    total = np.bincount(v["pred"][m], weights=sv[m], minlength=n_labels)
    count = np.bincount(v["pred"][m], minlength=n_labels)
    mean = sv[m].mean()
    off = (total + lam * mean) / (count + lam) - mean
    return sv - off[v["pred"]], st - off[t["pred"]]


def either(v: dict, t: dict, c: float) -> tuple[np.ndarray, np.ndarray]:
    """max(z dist, z nlp - c): reject when either part is extreme."""
    a, b = _z(v, t, "dist"), _z(v, t, "nlp")
    return np.maximum(a[0], b[0] - c), np.maximum(a[1], b[1] - c)


def scored(
    v: dict, t: dict, sv: np.ndarray, st: np.ndarray, budget: float = BUDGET
) -> dict[str, float]:
    """In-scope accuracy / oos recall / in-scope rejected (%) on valid and test, the accuracy
    over the whole split (``mix``: in-scope right and kept, oos rejected), AUROC and
    FPR@95TPR of the score."""
    from enigma_router.evaluate import auroc, fpr_at_tpr
    from enigma_router.unknown import threshold_at

    limit = threshold_at(sv[v["ins"]], budget)
    out = {}
    for key, s, r in (("v", sv, v), ("t", st, t)):
        rej, ins = s > limit, r["ins"]
        out[key + "in"] = 100 * float((r["correct"] & ~rej)[ins].mean())
        out[key + "oos"] = 100 * float(rej[~ins].mean())
        out[key + "rej"] = 100 * float(rej[ins].mean())
        out[key + "mix"] = 100 * float(np.where(ins, r["correct"] & ~rej, rej).mean())
        out[key + "auroc"] = auroc(s[~ins], s[ins])
        out[key + "fpr"] = fpr_at_tpr(s[~ins], s[ins])
    return out


DETAILED = {
    "distance + 0.25 doubt (uncentred: session 6)": [("dist", 1.0), ("pmax", 0.25)],
    "centred distance + 0.25 doubt (shipped)": [("centred", 1.0), ("pmax", 0.25)],
    "centred distance + 0 doubt": [("centred", 1.0), ("pmax", 0.0)],
    "centred distance + 1.0 doubt": [("centred", 1.0), ("pmax", 1.0)],
}
"""The scores ``--detail`` compares (in-scope / oos, AUROC, FPR@95TPR, accuracy over the split)."""


CANDIDATES: list[tuple[str, Any]] = [
    ("shipped (centred dist + 0.25 doubt)", lambda v, t: (v["shipped"], t["shipped"])),
    ("dist alone", lambda v, t: mix(v, t, [("dist", 1.0)])),
    *[(f"dist + {w} nlp", lambda v, t, w=w: mix(v, t, [("dist", 1), ("nlp", w)])) for w in (1, 2)],
    ("1 - max probability alone", lambda v, t: mix(v, t, [("pmax", 1.0)])),
    ("energy alone", lambda v, t: mix(v, t, [("energy", 1.0)])),
    *[
        (
            f"dist + {w} nlp + {w} energy",
            lambda v, t, w=w: mix(v, t, [("dist", 1), ("nlp", w), ("energy", w)]),
        )
        for w in (0.5, 1, 2)
    ],
    *[
        (
            f"dist + 0.25 nlp + {w} nlpm",
            lambda v, t, w=w: mix(v, t, [("dist", 1), ("nlp", 0.25), ("nlpm", w)]),
        )
        for w in (0.5, 1)
    ],
    *[(f"max(dist, nlp - {c})", lambda v, t, c=c: either(v, t, c)) for c in (0.0, 0.5, 1.0)],
    *[
        (
            f"centred dist + {w} doubt",
            lambda v, t, w=w: mix(v, t, [("centred", 1.0), ("pmax", w)]),
        )
        for w in (0.0, 0.25, 0.5, 0.625, 0.75, 0.875, 1.0, 1.25)
    ],
    *[
        (
            f"per-intent offset on valid, w {w}, shrink {lam}",
            lambda v, t, w=w, lam=lam: per_intent_offset(v, t, w, lam),
        )
        for w, lam in ((0.25, 10), (1, 10), (2, 10))
    ],
]


def baselines_on_valid(root: Path, ds: str) -> dict[str, tuple[float, float]]:
    """TF-IDF+LR and MiniLM+LR in-scope accuracy / oos recall (%) on ``valid``, each with its
    threshold on ``valid``'s in-scope requests at the budget (the bench's rule)."""
    import tempfile

    from enigma_router.bench_oos import bench_minilm_oos, bench_tfidf_oos, default_minilm_python

    out = {}
    with tempfile.TemporaryDirectory(prefix="enigma-oos-valid-") as tmp:
        folder = Path(tmp)
        for name, split in (("train", "train"), ("valid", "valid"), ("test", "valid")):
            (folder / f"{name}.jsonl").symlink_to((root / ds / f"{split}.jsonl").resolve())
        for row in (
            bench_tfidf_oos(folder, BUDGET),
            bench_minilm_oos(folder, BUDGET, default_minilm_python()),
        ):
            if "skipped" in row:
                raise SystemExit(f"{row['system']}: {row['skipped']}")
            out[row["system"]] = (100 * row["in_scope_accuracy"], 100 * row["oos_recall"])
    return out


def bound_candidates() -> list[list[tuple[str, float]]]:
    """Linear mixes searched by ``--bound``."""
    names = ["nlp", "margin", "energy", "nlpm", "pl_pred", "knngap", "dist3", "cdist", "anydist"]
    out = [[("dist", 1.0), (a, w)] for a in names for w in (0.1, 0.25, 0.5, 1, 2, 4, 100)]
    pairs = itertools.combinations(["nlp", "energy", "nlpm", "knngap", "margin", "pl_pred"], 2)
    for a, b in pairs:
        out += [[("dist", 1.0), (a, wa), (b, wb)] for wa in (0.5, 1, 2) for wb in (0.5, 1, 2)]
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the tables (see module doc)."""
    from enigma_router.bench import read_jsonl
    from enigma_router.inference import RouterModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=REPO.parent / "shared" / "benchmarks")
    ap.add_argument("--datasets", nargs="*", default=["banking77-oos", "hwu64-oos"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--work", type=Path, default=Path("/tmp/enigma-oos-scores"))
    ap.add_argument("--bound", action="store_true")
    ap.add_argument("--floor", nargs="*", default=["banking77-oos=57.06", "hwu64-oos=54.04"])
    ap.add_argument("--margins", action="store_true")
    ap.add_argument(
        "--detail", action="store_true", help="in-scope / oos, AUROC, FPR@95TPR, split accuracy"
    )
    ap.add_argument(
        "--budgets",
        nargs="*",
        type=float,
        default=[],
        help="accuracy over the validation split of the shipped score at these budgets "
        "(the default budget's rule)",
    )
    args = ap.parse_args(argv)
    floors = {k: float(x) for k, x in (f.split("=") for f in args.floor)}
    data: dict[str, list[tuple[dict, dict]]] = {}
    for ds in args.datasets:
        for seed in args.seeds:
            model = RouterModel.load(train(args.root, ds, seed, args.work))
            pair = []
            for split in ("valid", "test"):
                texts, gold = read_jsonl(args.root / ds / f"{split}.jsonl")
                pair.append(signals(model, texts, gold))
            data.setdefault(ds, []).append((pair[0], pair[1]))
            v, t = pair
            print(
                f"{ds} seed {seed}: base in-scope accuracy valid {100 * v['correct'][v['ins']].mean():.2f}"  # noqa: E501
                f" test {100 * t['correct'][t['ins']].mean():.2f}",
                file=sys.stderr,
                flush=True,
            )
    best: dict[str, tuple[float, float]] = {}
    if args.margins:
        for ds in data:
            rows = baselines_on_valid(args.root, ds)
            best[ds] = (max(r[0] for r in rows.values()), max(r[1] for r in rows.values()))
            print(f"{ds} valid, baselines (in / oos): {rows}", file=sys.stderr, flush=True)
    head = " | ".join(f"{ds} valid in / oos | test in / oos | test rejected" for ds in data)
    tail = " worst valid margin |" if best else ""
    print(f"| score (mean of seeds {' '.join(map(str, args.seeds))}) | {head} |{tail}")
    print("|---|" + "---:|" * (3 * len(data) + bool(best)))
    for label, fn in CANDIDATES:
        margins: list[float] = []
        cells: list[str] = []
        for ds, pairs in data.items():
            rs = [scored(v, t, *fn(v, t)) for v, t in pairs]
            m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0]}
            cells += [
                f"{m['vin']:.2f} / {m['voos']:.2f}",
                f"{m['tin']:.2f} / {m['toos']:.2f}",
                f"{m['trej']:.2f}",
            ]
            if best:
                margins += [m["vin"] - best[ds][0], m["voos"] - best[ds][1]]
        if margins:
            cells.append(f"{min(margins):+.2f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.detail:
        print(
            "\nMeans of the seeds; valid | test: in-scope accuracy / oos recall, AUROC, "
            "FPR@95TPR, accuracy over the split:"
        )
        for label, parts in DETAILED.items():
            for ds, pairs in data.items():
                rs = [scored(v, t, *mix(v, t, parts)) for v, t in pairs]
                m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0]}
                print(
                    f"{label}, {ds}: valid {m['vin']:.2f} / {m['voos']:.2f}, {m['vauroc']:.4f}, "
                    f"{m['vfpr']:.3f}, {m['vmix']:.2f} | test {m['tin']:.2f} / {m['toos']:.2f}, "
                    f"{m['tauroc']:.4f}, {m['tfpr']:.3f}, {m['tmix']:.2f}"
                )
    if args.budgets:
        print("\nShipped score, accuracy over the validation split (mean of seeds), by budget:")
        print("| data set | " + " | ".join(f"{b:g}" for b in args.budgets) + " |")
        rows = []
        for ds, pairs in data.items():
            row = [
                float(
                    np.mean([scored(v, t, v["shipped"], t["shipped"], b)["vmix"] for v, t in pairs])
                )
                for b in args.budgets
            ]
            rows.append(row)
            print(f"| {ds} | " + " | ".join(f"{x:.2f}" for x in row) + " |")
        print("| mean | " + " | ".join(f"{x:.2f}" for x in np.mean(rows, axis=0)) + " |")
    if args.bound:
        print("\nBest test in-scope accuracy over linear mixes PICKED ON TEST (upper bound):")
        for ds, pairs in data.items():
            for seed, (v, t) in zip(args.seeds, pairs, strict=True):
                best: tuple[float, str, dict[str, float]] = (-1.0, "", {})
                for parts in bound_candidates():
                    r = scored(v, t, *mix(v, t, parts))
                    if r["toos"] > floors.get(ds, 0.0) and r["tin"] > best[0]:
                        best = (r["tin"], " + ".join(f"{w} {n}" for n, w in parts), r)
                r = best[2]
                print(
                    f"{ds} seed {seed}: {best[1]}: test in-scope {r['tin']:.2f} oos recall "
                    f"{r['toos']:.2f} rejected {r['trej']:.2f} (valid {r['vin']:.2f} / {r['voos']:.2f})"  # noqa: E501
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
