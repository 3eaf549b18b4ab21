"""Make a trained model the configured one for its task, atomically (``enigma promote``).

The directory is checked first (its task's plugin must describe it and load it); then the
config's ``models.<task>.path`` points at it in one atomic write. Running engines notice the
changed config within a second and load the new model on their next request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError


def promote_model(task: str, directory: str | Path) -> dict[str, Any]:
    """Check ``directory`` holds a loadable model of ``task`` and configure it; returns its info."""
    from enigma_core.config import update_config
    from enigma_core.engine import EnigmaEngine

    path = Path(directory).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise EnigmaError(f"{path}: not a trained model (no config.json)")
    engine = EnigmaEngine(model_dirs={task: path}, log=False)
    if task not in engine.tasks:
        raise EnigmaError(f"no installed plugin registers task {task!r}")
    info = engine.model_info(task)
    if not info:
        raise EnigmaError(f"{path}: plugin of task {task!r} does not recognise this model")
    engine.load(task)  # refuses torn, mismatched or foreign weights with a one-line error

    def change(raw: dict[str, Any]) -> None:
        models = raw.setdefault("models", {})
        entry = models.setdefault(task, {})
        if not isinstance(models, dict) or not isinstance(entry, dict):
            raise EnigmaError(f"config field 'models.{task}' must be an object; fix it by hand")
        entry["path"] = str(path)

    update_config(change)
    return {"task": task, "path": str(path), **{k: info[k] for k in ("labels",) if k in info}}
