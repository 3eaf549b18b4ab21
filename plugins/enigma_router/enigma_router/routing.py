"""What ``plugin.py``'s hooks call: find/load the router model, classify, describe the model.

numpy only: the engine can route without importing torch. ``model_dir=None`` means the model
shipped next to this package (``enigma_router/default_model``) when it exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.errors import EnigmaError
from enigma_core.types import Classification

if TYPE_CHECKING:
    import numpy as np

    from enigma_core.context import TaskContext
    from enigma_router.inference import RouterModel
    from enigma_router.purepy import LazyRouter

DEFAULT_MODEL_DIR = Path(__file__).with_name("default_model")


def resolve_model_dir(model_dir: str | Path | None) -> Path | None:
    """``model_dir`` if given, else the shipped default model, else None (no model)."""
    if model_dir is not None:
        return Path(model_dir)
    return DEFAULT_MODEL_DIR if (DEFAULT_MODEL_DIR / "config.json").is_file() else None


def load_router(
    model_dir: str | Path | None, context: TaskContext | None = None
) -> RouterModel | LazyRouter:
    """Load the router (mapped): in a process without numpy, a :class:`~enigma_router.purepy.
    LazyRouter` whose first requests are answered without importing it; the engine's shared
    tokenizer is loaded only for a model that uses tokenizer pieces (the default features do
    not). EnigmaError if none exists."""
    from enigma_router.purepy import load

    directory = resolve_model_dir(model_dir)
    if directory is None:
        raise EnigmaError("no router model: train one with 'enigma train router'")
    return load(directory, context.tokenizer if context is not None else None)


EXPLAIN_K = 5


def classify(
    model: RouterModel | LazyRouter,
    text: str,
    top_k: int = 3,
    threshold: float | None = None,
    margin: float | None = None,
    budget: float | None = None,
    explain: bool = False,
    new_intents: dict[str, tuple[str, ...]] | None = None,
    acc: np.ndarray | None = None,
) -> Classification:
    """One forward pass -> :class:`Classification` (``via="model"``; unsure -> ``oos``).

    ``threshold``/``margin`` override the calibrated knobs and ``budget`` the rejection budget
    (read off the stored curve) for this call; ``explain`` adds the nearest training examples.
    ``new_intents`` (``{intent: examples}`` of installed tasks the model does not know) are
    matched by nearest neighbours (``newintents.py``) and listed in ``known_intents``, so the
    core does not send them to keywords. ``acc``: the text's bag sum when already computed
    (:func:`classify_many`). A :class:`~enigma_router.purepy.LazyRouter` answers its first
    requests in pure Python unless ``explain``, ``new_intents`` or ``acc`` need numpy.
    """
    model = model.pick(numpy=explain or bool(new_intents) or acc is not None)
    acc = model.bag_sum(text) if acc is None else acc
    probs, score, limit = model.scored(acc, budget)
    intent, confidence, alternatives = model.decide(
        probs, top_k=top_k, threshold=threshold, margin=margin, unknown=score, limit=limit
    )
    details: dict[str, Any] = {}
    if intent == "oos":
        learned = model.best_index(probs) == model.oos_index
        if learned:
            details["reason"] = "out of scope"
        elif score is not None and limit is not None and score > limit:
            details["reason"] = (
                f"unlike the training examples of {alternatives[0][0]!r} "
                f"(unknown score {score:.3f} above {limit:.3f})"
            )
        else:
            details["reason"] = "unsure (below threshold or margin)"
        details["calibration"] = {
            **model.calibration.to_dict(),
            **({"threshold": threshold} if threshold is not None else {}),
            **({"margin": margin} if margin is not None else {}),
            **({"oos_budget": budget} if budget is not None else {}),
        }
    known = model.known_labels
    if new_intents:
        from enigma_router.newintents import index_for

        best = model.best_index(probs)
        hit = index_for(model, new_intents).match(text, best)
        if hit is not None:
            new, sim, rival = hit
            alternatives = [(model.labels[best], float(probs[best])), *alternatives]
            intent, confidence = new, sim
            alternatives = [a for a in alternatives if a[0] not in ("oos", new)][: top_k - 1]
            details = {
                "reason": f"nearest example is of {new!r}, an intent the router was not "
                f"trained on (similarity {sim:.3f} vs {rival:.3f}); retrain to learn it",
                "new_intent": True,
            }
            # Known only when chosen: otherwise the core may still reach a new intent by its
            # keywords (its nearest examples were not close enough to claim the request).
            known += tuple(new_intents)
    if explain:
        details["explain"] = {
            "nearest": model.nearest(acc, EXPLAIN_K),
            "space": "router hidden layer (cosine)",
            **(
                {"unknown_score": round(score, 4), "unknown_limit": round(limit, 4)}
                if score is not None and limit is not None
                else {}
            ),
        }
    return Classification(
        intent=intent,
        confidence=confidence,
        via="model",
        alternatives=alternatives,
        details=details,
        known_intents=known,
    )


def classify_many(
    model: RouterModel | LazyRouter, texts: list[str], **options: Any
) -> list[Classification]:
    """:func:`classify` of each text, their bag sums computed in one batch (``bag_sums``)."""
    model = model.pick(numpy=True)
    sums = model.bag_sums(texts)
    return [classify(model, t, acc=a, **options) for t, a in zip(texts, sums, strict=True)]


def unknown_intents(
    model: RouterModel | LazyRouter, tasks: dict[str, Any]
) -> dict[str, tuple[str, ...]]:
    """``{intent: examples}`` of installed tasks whose intent the model was not trained on
    (tasks without examples cannot be matched this way and are left to keywords). Here, not in
    ``newintents.py``: every request asks, and that module imports numpy."""
    known = set(model.labels)
    out: dict[str, tuple[str, ...]] = {}
    for task in tasks.values():
        if task.classifies or not task.intents or not task.examples:
            continue
        intent = task.intents[0]
        if intent not in known:
            out[intent] = out.get(intent, ()) + tuple(task.examples)
    return out


def model_info(model_dir: str | Path | None) -> dict[str, Any] | None:
    """Labels, plugin versions and calibration of a router from ``config.json`` (no weights).

    None when there is no model; used by ``enigma plugins`` / ``route --json`` staleness checks.
    """
    directory = resolve_model_dir(model_dir)
    if directory is None or not (directory / "config.json").is_file():
        return None
    try:
        meta = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EnigmaError(
            f"{directory / 'config.json'}: unreadable router config ({exc})"
        ) from None
    router = meta.get("router") or {}
    return {
        "path": str(directory),
        "labels": list(meta.get("labels", [])),
        "plugins": dict(router.get("plugins", {})),
        "calibration": router.get("calibration", {}),
        "created": meta.get("created"),
        "tokenizer_sha256": (meta.get("tokenizer") or {}).get("sha256"),
        "weights_sha256": meta.get("weights_sha256"),
        "intent_sources": dict(router.get("intent_sources", {})),
        "example_hashes": dict(router.get("example_hashes", {})),
    }
