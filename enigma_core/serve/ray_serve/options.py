"""Per-task Ray Serve deployment options from the config's ``ray`` section, validated.

``{"ray": {"default": {...}, "ingress": {...}, "tasks": {"code": {...}}}}`` where each entry may
hold ``num_replicas`` or ``autoscaling_config``, ``num_cpus``, ``num_gpus``, ``resources`` and
``max_ongoing_requests``. Defaults fit a 2-core laptop: one replica, a quarter CPU each.
"""

from __future__ import annotations

from typing import Any

from enigma_core.errors import EnigmaError

DEFAULTS: dict[str, Any] = {"num_replicas": 1, "num_cpus": 0.25, "num_gpus": 0.0}
INGRESS_DEFAULTS: dict[str, Any] = {"max_ongoing_requests": 256}
"""The ingress only classifies and awaits handles: Serve's default of 5 at once queued requests
in the proxy (classify at concurrency 16: 84 req/s against 939 single-process, measured)."""
KEYS = (
    "num_replicas",
    "autoscaling_config",
    "num_cpus",
    "num_gpus",
    "resources",
    "max_ongoing_requests",
)
AUTOSCALE_KEYS = (
    "min_replicas",
    "max_replicas",
    "initial_replicas",
    "target_ongoing_requests",
    "upscale_delay_s",
    "downscale_delay_s",
)


def _number(where: str, key: str, value: Any, low: float, integer: bool = False) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or value < low:
        kind = "an integer" if integer else "a number"
        raise EnigmaError(f"config field '{where}.{key}' must be {kind} >= {low:g}")
    return value


def _entry(where: str, raw: Any) -> dict[str, Any]:
    """One validated options entry (only the keys it sets)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise EnigmaError(f"config field '{where}' must be an object")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise EnigmaError(f"config field '{where}.{key}' is unknown (known: {', '.join(KEYS)})")
        if key in ("num_cpus", "num_gpus"):
            out[key] = _number(where, key, value, 0)
        elif key in ("num_replicas", "max_ongoing_requests"):
            out[key] = _number(where, key, value, 1, integer=True)
        elif key == "resources":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, (int, float)) and v >= 0
                for k, v in value.items()
            ):
                raise EnigmaError(f"config field '{where}.resources' must map names to numbers")
            out[key] = dict(value)
        else:
            if not isinstance(value, dict):
                raise EnigmaError(f"config field '{where}.autoscaling_config' must be an object")
            for k, v in value.items():
                if k not in AUTOSCALE_KEYS:
                    raise EnigmaError(f"config field '{where}.autoscaling_config.{k}' is unknown")
                _number(f"{where}.autoscaling_config", k, v, 0)
            out[key] = dict(value)
    return out


def deployment_options(raw: Any, task: str | None) -> dict[str, Any]:
    """Ray Serve options of one deployment (``task`` None: the ingress)."""
    if raw is not None and not isinstance(raw, dict):
        raise EnigmaError("config field 'ray' must be an object")
    raw = raw or {}
    tasks = raw.get("tasks") or {}
    if not isinstance(tasks, dict):
        raise EnigmaError("config field 'ray.tasks' must be an object")
    merged = {**DEFAULTS, **_entry("ray.default", raw.get("default"))}
    if task is None:
        merged.update({**INGRESS_DEFAULTS, **_entry("ray.ingress", raw.get("ingress"))})
    else:
        merged.update(_entry(f"ray.tasks.{task}", tasks.get(task)))
    if "autoscaling_config" in merged:
        merged.pop("num_replicas", None)
    actor: dict[str, Any] = {"num_cpus": merged.pop("num_cpus"), "num_gpus": merged.pop("num_gpus")}
    if "resources" in merged:
        actor["resources"] = merged.pop("resources")
    return {**merged, "ray_actor_options": actor}
