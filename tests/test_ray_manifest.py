"""deploy/rayservice.yaml, checked without Kubernetes or network: a RayService whose Serve config
Ray itself accepts, whose import path builds (with Ray's own ``serve build``) exactly the
deployments ``enigma serve --ray`` runs, and whose replicas fit the nodes it declares."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ray_support import NO_RAY
from tests.venvs import clean_env

pytest.importorskip("ray.serve", reason=NO_RAY)
pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "deploy" / "rayservice.yaml"
SERVE = str(Path(sys.executable).parent / "serve")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """The manifest, parsed."""
    return yaml.safe_load(MANIFEST.read_text())


@pytest.fixture(scope="module")
def serve_config(manifest: dict[str, Any]) -> dict[str, Any]:
    """``spec.serveConfigV2`` (a YAML string inside the manifest), parsed."""
    text = manifest["spec"]["serveConfigV2"]
    assert isinstance(text, str), "serveConfigV2 must be a YAML string (KubeRay reads it so)"
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The ENIGMA_HOME used and what Ray's ``serve build`` makes of the manifest's import path."""
    tmp = tmp_path_factory.mktemp("manifest")
    home = tmp / "home"
    home.mkdir()
    out = tmp / "built.yaml"
    env = clean_env({"ENIGMA_HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"})
    done = subprocess.run(
        [SERVE, "build", "deploy.enigma_app:app", "-o", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return home, yaml.safe_load(out.read_text())


def test_manifest_is_a_rayservice_ray_accepts(
    manifest: dict[str, Any], serve_config: dict[str, Any]
) -> None:
    from ray.serve.schema import ServeDeploySchema

    assert manifest["apiVersion"] == "ray.io/v1"
    assert manifest["kind"] == "RayService"
    ServeDeploySchema.model_validate(serve_config)  # Ray's own schema for serveConfigV2
    [app] = serve_config["applications"]
    assert app["route_prefix"] == "/"
    assert app["import_path"] == "deploy.enigma_app:app"


def test_import_path_builds_what_enigma_serve_ray_runs(
    serve_config: dict[str, Any],
    built: tuple[Path, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same deployments as ``enigma serve --ray`` on that node; the manifest tunes each one."""
    from enigma_core.serve.ray_serve.deployments import deployment_name
    from enigma_core.serve.ray_serve.run import specialist_tasks

    home, made = built
    monkeypatch.setenv("ENIGMA_HOME", str(home))
    tasks, _ = specialist_tasks()  # what `enigma serve --ray` deploys with this home
    expected = {"ingress"} | {deployment_name(task) for task in tasks}
    [app] = serve_config["applications"]
    [made_app] = made["applications"]
    assert made_app["import_path"] == app["import_path"]
    assert {d["name"] for d in made_app["deployments"]} == expected
    assert {d["name"] for d in app["deployments"]} == expected  # none missing, none unknown


def test_manifest_options_are_valid_enigma_ray_config(serve_config: dict[str, Any]) -> None:
    """Written as the config's ``ray`` section, the manifest's tuning passes enigma's checks
    and gives the same Serve options (so SCALING.md's cluster profile is one profile)."""
    from enigma_core.serve.ray_serve.options import deployment_options

    [app] = serve_config["applications"]
    for deployment in app["deployments"]:
        entry = {k: v for k, v in deployment.items() if k not in ("name", "ray_actor_options")}
        entry.update(deployment.get("ray_actor_options", {}))
        name = deployment["name"]
        task = None if name == "ingress" else name.removeprefix("task-")
        raw = {"ingress": entry} if task is None else {"tasks": {task: entry}}
        options = deployment_options(raw, task)
        for key, value in deployment.items():
            if key == "ray_actor_options":
                assert value.items() <= options[key].items(), (name, value, options)
            elif key != "name":
                assert options[key] == value, (name, key, options)


def test_replicas_fit_the_declared_nodes(manifest: dict[str, Any]) -> None:
    cluster = manifest["spec"]["rayClusterConfig"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    worker_cpus = [
        float(group["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"])
        for group in cluster["workerGroupSpecs"]
    ]
    [app] = yaml.safe_load(manifest["spec"]["serveConfigV2"])["applications"]
    for deployment in app["deployments"]:
        cpus = deployment.get("ray_actor_options", {}).get("num_cpus", 1)
        assert cpus <= max(worker_cpus), (deployment["name"], cpus, worker_cpus)
