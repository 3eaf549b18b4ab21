"""Offline study: do static MiniLM word vectors help the router's base accuracy? (issue 16)

Mirrors ``trainer.train_router`` up to the fused logits (features, MLP members, linear member
with its spread share on valid, warm refit on a carved split) and measures the test argmax
accuracy (before any rejection) of:

- ``base``: the router as shipped;
- ``lr``: logistic regression on the request vectors alone (a);
- ``fuse``: the router's fused logits + w x an LR member's log-probabilities on the vectors,
  ``w`` chosen on the validation split (b);
- ``app S``: the vectors (unit length, times ``S``) appended as dense columns to the sparse
  features, so the MLP and the linear member both see them (c).

``mlp S``: appended for the MLP only; ``mixS_L_K``: times ``S`` for the MLP, ``L`` for the
linear member over its first ``K`` dims (the shipped recipe is ``mix3_1_32``). A variant may end
in recipe knobs, ``+h256`` (hidden), ``+m3`` (members), ``+e15`` (epochs), ``+lr0.003``, ``+d0.3``
(dropout), ``+ls0`` (label smoothing), ``+bs64``, ``+share0.3`` (the linear member's share).

The vectors are the shipped table (default) or a centred PCA of ``RAW.npz``
(``bench/router/build_vectors.py --raw``) to ``--dims``. ``--weighting`` weighs each piece's
row before the sum: ``none`` (shipped), ``zipf`` (Model2Vec's log(1 + id)), ``sifA`` (SIF,
A / (A + p) with Zipf's p over the ids) or ``idf`` (of the training requests' pieces).

It also prints the argmax accuracy on the validation split (``_valid``): for ``*-oos`` data sets
(``train`` / ``valid`` / ``test``, no carve, no refit) the final model's on valid's in-scope
requests, for the others the model's before the refit on the carved split: what issue 16's
choices may be made on. Timings: CPU seconds of the whole variant and of the linear member
(``_lin_cpu``).

Usage: ``.venv/bin/python bench/router/vectors_offline.py [--raw RAW.npz --dims 128]
[--datasets hwu64 banking77 banking77-oos hwu64-oos] [--seeds 0 1 2]
[--variants base lr fuse app1 mlp3 mix3_1_32 mix3_1_32+m3] [--weighting none zipf sif1e-4 idf]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def read(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [str(r["text"]) for r in rows], [str(r["intent"]) for r in rows]


def pca_table(raw: np.ndarray, dims: int) -> np.ndarray:
    """PCA of the raw vocabulary vectors (centred over the vocabulary) to ``dims``."""
    centred = raw - raw.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[:dims].T).astype(np.float16).astype(np.float32)


def request_vectors(texts: list[str], wp, table: np.ndarray, weights=None) -> np.ndarray:
    out = np.zeros((len(texts), table.shape[1]), np.float32)
    for i, t in enumerate(texts):
        ids = wp.ids(t)
        if not ids:
            continue
        if weights is None:
            v = table[ids].mean(axis=0)
        else:
            w = weights[ids]
            v = (table[ids] * w[:, None]).sum(axis=0) / max(w.sum(), 1e-6)
        n = float(np.linalg.norm(v))
        out[i] = v / n if n > 0 else v
    return out


def carve(texts, labels, seed):
    from enigma_core.training.recipe import Example, carve_validation

    ex = [Example(ids=[], label=lab, text=t) for t, lab in zip(texts, labels, strict=True)]
    tr, va = carve_validation(ex, 0.1, seed)
    return [e.text for e in tr], [e.label for e in tr], [e.text for e in va], [e.label for e in va]


def lr_fit(v, y, n_labels, c=10.0):
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit(v, y)
    w = np.zeros((v.shape[1], n_labels), np.float32)
    b = np.full(n_labels, -30.0, np.float32)
    w[:, clf.classes_] = clf.coef_.T
    b[clf.classes_] = clf.intercept_
    return w, b


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def token_weights(kind: str, rows: int, train_ids=None) -> np.ndarray | None:
    """Per-token weights of the rows (None: plain sum). ``zipf``: Model2Vec's log(1 + id)
    (BERT's vocabulary is roughly frequency-ordered); ``sifA``: A / (A + p) with p from Zipf's
    law over the ids (Model2Vec's SIF, A = 1e-4 there); ``idf``: log(N / df) of the pieces in
    the model's training requests (unseen pieces: the maximum)."""
    if kind == "none":
        return None
    ids = np.arange(rows, dtype=np.float64)
    if kind == "zipf":
        return np.log1p(ids).astype(np.float32)
    if kind.startswith("sif"):
        a = float(kind[3:])
        inv = 1.0 / (ids + 2.0)
        p = inv / inv.sum()
        return (a / (a + p)).astype(np.float32)
    if kind == "idf":
        df = np.zeros(rows)
        for t in train_ids:
            df[list(set(t))] += 1
        return np.log((len(train_ids) + 1) / (df + 1)).astype(np.float32) + 1.0
    raise SystemExit(f"unknown weighting {kind}")


OVERRIDES = {
    "h": ("settings", "hidden", int),
    "m": ("settings", "members", int),
    "ls": ("settings", "label_smoothing", float),
    "e": ("hyper", "epochs", int),
    "lr": ("hyper", "lr", float),
    "d": ("hyper", "dropout", float),
    "bs": ("hyper", "batch_size", int),
    "share": ("share", "", float),
}


def with_overrides(name, settings, hyper):
    """``variant+h256+e15``: the variant with recipe knobs changed (see ``OVERRIDES``)."""
    from dataclasses import replace

    variant, *knobs = name.split("+")
    share = settings.linear_share
    for knob in knobs:
        key = next((k for k in sorted(OVERRIDES, key=len, reverse=True) if knob.startswith(k)), "")
        if not key:
            raise SystemExit(
                f"variant {name!r}: unknown knob '+{knob}' (known: {sorted(OVERRIDES)})"
            )
        where, field, cast = OVERRIDES[key]
        try:
            value = cast(knob[len(key) :])
        except ValueError:
            raise SystemExit(
                f"variant {name!r}: '+{knob}' needs a number ({cast.__name__}) after '{key}'"
            ) from None
        if where == "settings":
            settings = replace(settings, **{field: value})
        elif where == "hyper":
            hyper = replace(hyper, **{field: value})
        else:
            share = value
    return variant, settings, hyper, share


def run_one(ds, seed, variants, root, wp, table, hyper_over, weighting="none"):
    from enigma_router import linear
    from enigma_router.dataset import build_vocab, hash_texts, matrix
    from enigma_router.features import Featurizer, Hasher
    from enigma_router.fit import Matrix, mlp_logits, new_net, train_net
    from enigma_router.network import RouterNetConfig
    from enigma_router.recipe import DEFAULT_HYPER
    from enigma_router.trainer import (
        Hyper,
        RouterSettings,
        _balance,
        _refit,
        _schedule,
        label_groups,
    )
    from scipy.sparse import csr_matrix, hstack, vstack

    folder = root / ds
    tr_t, tr_l = read(folder / "train.jsonl")
    te_t, te_l = read(folder / "test.jsonl")
    has_valid = ds.endswith("-oos")
    if has_valid:
        va_t, va_l = read(folder / "valid.jsonl")
        keep = [i for i, lab in enumerate(va_l) if lab != "oos"]
        va_t, va_l = [va_t[i] for i in keep], [va_l[i] for i in keep]
        carved = False
    else:
        tr_t, tr_l, va_t, va_l = carve(tr_t, tr_l, seed)
        carved = True
    labels = sorted(set(tr_l) | set(va_l))
    idx = {lab: i for i, lab in enumerate(labels)}
    ytr = np.array([idx[x] for x in tr_l])
    yva = np.array([idx[x] for x in va_l])
    te_in = [i for i, lab in enumerate(te_l) if lab in idx]
    te_t = [te_t[i] for i in te_in]
    yte = np.array([idx[te_l[i]] for i in te_in])
    settings = RouterSettings()
    hp = DEFAULT_HYPER
    hyper = Hyper.of(hp)
    spec = settings.features
    hasher = Hasher(spec)
    docs_tr, docs_va = hash_texts(tr_t, hasher), hash_texts(va_t, hasher)
    vocab = build_vocab([*docs_tr, *docs_va], hasher, spec)
    fz = Featurizer(spec, vocab, hasher)
    x_tr, x_va = matrix(docs_tr, fz), matrix(docs_va, fz)
    x_te = matrix(hash_texts(te_t, hasher), fz)
    weights = token_weights(weighting, table.shape[0], [wp.ids(t) for t in tr_t])
    v_tr, v_va, v_te = (request_vectors(t, wp, table, weights) for t in (tr_t, va_t, te_t))
    n_labels = len(labels)
    out = {}
    for name in variants:
        t0 = time.process_time()
        variant, settings, hyper, share = with_overrides(name, RouterSettings(), Hyper.of(hp))
        if variant == "lr":
            w, b = lr_fit(
                np.vstack([v_tr, v_va]) if carved else v_tr,
                np.concatenate([ytr, yva]) if carved else ytr,
                n_labels,
            )
            out[variant] = float(((v_te @ w + b).argmax(1) == yte).mean())
            continue
        lin_scale = None
        lin_dims = None
        if variant.startswith("mix"):
            parts = variant[3:].split("_")
            scale, lin_scale = float(parts[0]), float(parts[1])
            lin_dims = int(parts[2]) if len(parts) > 2 else None
        else:
            scale = float(variant[3:]) if variant[:3] in ("app", "mlp") else 0.0
        lin_x = variant.startswith("mlp")  # the linear member sees the n-grams only

        def aug(x, v, scale=scale):
            if not scale:
                return x
            return hstack([x, csr_matrix(v * scale)], format="csr", dtype=np.float32)

        tr, va = Matrix(aug(x_tr, v_tr), ytr), Matrix(aug(x_va, v_va), yva)
        xte = aug(x_te, v_te)
        cfg = RouterNetConfig(
            n_features=tr.x.shape[1],
            n_labels=n_labels,
            hidden=settings.hidden,
            members=settings.members,
            dropout=hyper.dropout,
            linear=True,
            label_groups=label_groups(labels),
        )
        schedule = _schedule(hyper, settings, hyper.epochs, hyper.lr)
        repeats, cw = _balance(tr.y, n_labels, settings)
        net = train_net(new_net(cfg, seed), tr, schedule, seed, valid=va, repeats=repeats)
        iters = linear.CALIBRATION_ITERATIONS if carved else linear.MAX_ITERATIONS
        t1 = time.process_time()
        ltr, lva, lte = (x_tr, x_va, x_te) if lin_x else (tr.x, va.x, xte)
        if lin_scale is not None:

            def laug(x, v, lin_scale=lin_scale, k=lin_dims):
                v = v[:, :k] if k else v
                return hstack([x, csr_matrix(v * lin_scale)], format="csr", dtype=np.float32)

            ltr, lva, lte = laug(x_tr, v_tr), laug(x_va, v_va), laug(x_te, v_te)
        lin = linear.fit(ltr, tr.y, n_labels, seed, weights=cw, max_iter=iters)
        spread = linear.spread_ratio(mlp_logits(net, va.x), linear.scores(lva, *lin))
        beta = spread * share / (1.0 - share)
        fused_va = mlp_logits(net, va.x) + beta * linear.scores(lva, *lin)
        lin_cpu = time.process_time() - t1
        wsel = 0.0
        if variant == "fuse":
            lw, lb = lr_fit(v_tr, ytr, n_labels)
            lp_va = log_softmax(v_va @ lw + lb)
            sd = float(np.std(fused_va))
            grid = [0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0]
            accs = [((fused_va + g * sd * lp_va).argmax(1) == yva).mean() for g in grid]
            wsel = grid[int(np.argmax(accs))] * sd
        if carved:
            final = Matrix(
                hstack([tr.x, va.x]).tocsr()
                if False
                else __import__("scipy.sparse").sparse.vstack(
                    [tr.x, va.x], format="csr", dtype=np.float32
                ),
                np.concatenate([tr.y, va.y]),
            )
            repeats, cw = _balance(final.y, n_labels, settings)
            net, _ = _refit(net, cfg, final, hyper, settings, seed, None, repeats)
            t1 = time.process_time()
            lfin = vstack([ltr, lva], format="csr")
            lin = linear.fit(lfin, final.y, n_labels, seed, weights=cw)
            lin_cpu += time.process_time() - t1
        logits = mlp_logits(net, xte) + beta * linear.scores(lte, *lin)
        out[name + "_lin_cpu"] = round(lin_cpu, 1)
        if variant == "fuse":
            vv = np.vstack([v_tr, v_va]) if carved else v_tr
            yy = np.concatenate([ytr, yva]) if carved else ytr
            lw, lb = lr_fit(vv, yy, n_labels)
            logits = logits + wsel * log_softmax(v_te @ lw + lb)
        out[name] = float((logits.argmax(1) == yte).mean())
        # accuracy on the validation split (carved: of the model before the refit)
        out[name + "_valid"] = float((fused_va.argmax(1) == yva).mean())
        out[name + "_cpu"] = round(time.process_time() - t0, 1)
        if variant == "fuse":
            out["fuse_w"] = round(wsel, 3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", type=Path, help="raw 384-d vectors (default: the shipped table)")
    ap.add_argument("--weighting", nargs="+", default=["none"], help="none zipf sifA idf")
    ap.add_argument("--dims", type=int, default=128)
    ap.add_argument("--root", type=Path, default=Path("/work/shared/benchmarks"))
    ap.add_argument("--datasets", nargs="+", default=["hwu64", "banking77"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=["base", "lr", "fuse", "app1"])
    args = ap.parse_args(argv)
    from enigma_router.vectors import WordPiece

    if args.raw is None:
        from enigma_router import vectors

        shipped = vectors.load()
        table = shipped.array().astype(np.float32)
        wp = shipped.wordpiece
    else:
        data = np.load(args.raw)
        table = pca_table(data["raw"], args.dims)
        wp = WordPiece([str(x) for x in data["vocab"]])
    for weighting in args.weighting:
        for ds in args.datasets:
            rows = []
            for seed in args.seeds:
                r = run_one(ds, seed, args.variants, args.root, wp, table, None, weighting)
                rows.append(r)
                print(ds, seed, weighting, json.dumps(r), flush=True)
            keys = [k for k in rows[0] if not k.endswith("cpu") and k != "fuse_w"]
            means = {k: round(100 * float(np.mean([r[k] for r in rows])), 2) for k in keys}
            print("MEAN", ds, weighting, f"dims={table.shape[1]}", json.dumps(means), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
