"""Plugin discovery against real pip installs: what is installed is exactly what is found."""

from __future__ import annotations

import json

from tests.venvs import Venv, import_spy

HEAVY = ("torch", "matplotlib", "safetensors.torch", "sklearn", "starlette", "uvicorn")
"""What routing and listing must never even try to import."""


def _names(env: Venv, extra_env: dict[str, str] | None = None) -> dict[str, dict]:
    out = env.json("plugins", env=extra_env)
    return {p["name"]: p for p in out["plugins"]}


def test_core_alone_lists_no_plugins(core_venv: Venv) -> None:
    plugins = _names(core_venv)
    assert list(plugins) == ["builtin"]
    assert plugins["builtin"]["tasks"] == ["chat"]


def test_core_alone_never_imports_torch(core_venv: Venv) -> None:
    assert core_venv.run_python("import torch").returncode != 0, "torch must not be installed here"
    for args in (
        ["plugins"],
        ["route", "hello there"],
        ["route", "--json", "write a function"],
        ["--help"],
        ["classify", "describe photo.jpg"],
    ):
        done = core_venv.run_python(import_spy(args, HEAVY))
        assert "EXIT=0\n" in done.stdout, done.stdout + done.stderr
        assert done.stdout.rstrip().endswith("HEAVY="), done.stdout + done.stderr


def test_the_no_torch_check_sees_an_attempted_import(code_venv: Venv) -> None:
    """The check above can fail: training the code model tries to import torch (absent here)."""
    done = code_venv.run_python(import_spy(["train", "code"], HEAVY))
    assert "HEAVY=torch" in done.stdout, done.stdout + done.stderr


def test_uninstalled_plugin_intent_names_the_package(core_venv: Venv) -> None:
    out = core_venv.json("route", "describe photo.jpg")
    assert out["intent"] == "vision"
    assert out["status"] == "missing_plugin"
    assert "enigma-vision" in out["output"]
    out = core_venv.json("route", "write a function that reverses a string")
    assert out["status"] == "missing_plugin" and "enigma-code" in out["output"]


def test_keyword_route_goes_to_default_when_nothing_matches(core_venv: Venv) -> None:
    out = core_venv.json("route", "zzzz qqqq")
    assert out["task"] == "chat" and out["via"] == "default"
    assert set(out["timings_ms"]) == {"classify", "execute"}


def test_only_the_router_appears_when_only_it_is_installed(router_venv: Venv) -> None:
    plugins = _names(router_venv)
    assert sorted(plugins) == ["builtin", "router"]
    assert plugins["router"]["distribution"] == "enigma-router"
    assert plugins["router"]["status"] == "ok"
    assert "enigma_classify_intent" in plugins["router"]["hooks"]


def test_broken_plugins_are_reported_and_routing_still_answers(broken_venv: Venv) -> None:
    plugins = _names(broken_venv)
    assert plugins["broken_import"]["status"] == "error"
    assert "broken on purpose" in plugins["broken_import"]["error"]
    assert plugins["broken_import"]["distribution"] == "enigma-broken-import"
    done = broken_venv.run("route", "--json", "echo hello world")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["task"] == "echo" and out["output"] == "echo: echo hello world"
    assert b"classifier exploded" in done.stderr  # one warning naming the broken hook
    assert done.stderr.count(b"warning") <= 2
    listing = broken_venv.run("plugins")
    assert listing.returncode == 0 and b"broken on purpose" in listing.stdout


def test_broken_task_hook_is_a_clean_error(broken_venv: Venv) -> None:
    done = broken_venv.run("route", "what is the weather forecast")
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    lines = done.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("enigma: error: plugin 'broken_hook' failed to run task 'weather'")
    assert all(line.startswith("enigma: warning:") for line in lines[:-1])


def test_strict_mode_reraises(broken_venv: Venv) -> None:
    done = broken_venv.run("plugins", env={"ENIGMA_STRICT_PLUGINS": "1"})
    assert done.returncode != 0
    assert b"broken on purpose" in done.stderr


def test_allow_and_block_lists(broken_venv: Venv) -> None:
    only_echo = _names(broken_venv, {"ENIGMA_LOAD_PLUGINS": "echo"})
    assert only_echo["echo"]["status"] == "ok"
    assert only_echo["broken_import"]["status"] == "disabled"
    assert only_echo["broken_hook"]["status"] == "disabled"
    blocked = _names(broken_venv, {"ENIGMA_DISABLE_PLUGINS": "echo,broken_import"})
    assert blocked["echo"]["status"] == "disabled"
    assert blocked["broken_import"]["status"] == "disabled"
    out = broken_venv.json("route", "echo hi", env={"ENIGMA_DISABLE_PLUGINS": "echo"})
    assert out["task"] != "echo"


def test_config_show_names_the_file_under_enigma_home(core_venv: Venv, tmp_path) -> None:
    out = core_venv.json("config", "show", env={"ENIGMA_HOME": str(tmp_path)})
    assert out["path"] == str(tmp_path / "config.json") and out["exists"] is False
    assert out["config"]["enabled"] is True and "chat" in out["config"]["models"]


def test_router_model_routes_without_torch(router_venv: Venv) -> None:
    assert router_venv.run_python("import torch").returncode != 0, "torch must not be installed"
    done = router_venv.run_python(import_spy(["route", "--json", "draw me a cat"], HEAVY))
    assert "EXIT=0\n" in done.stdout and done.stdout.rstrip().endswith("HEAVY="), (
        done.stdout + done.stderr
    )
    out = json.loads(done.stdout.splitlines()[0])
    assert out["via"] == "model" and out["intent"] == "image"
    assert out["status"] == "missing_plugin"  # nobody generates images yet: says so, no crash
