"""Router training interrupted by Ctrl-C resumes to the very same model as an uninterrupted run.

The router's n-gram table is trained by a row-sparse Adam outside the core optimizer; its moments,
step count and learning-rate probe are checkpointed (and left out of the exported model).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from safetensors.numpy import load_file

REPO = Path(__file__).resolve().parents[3]
HELPER = Path(__file__).with_name("router_subprocess.py")
DATA = REPO / "data" / "specialized" / "router_training.txt"
sys.path.insert(0, str(HELPER.parent))

import router_subprocess  # noqa: E402


def _committed_step(out: Path) -> int:
    state = out / "checkpoint" / "state.json"
    return json.loads(state.read_text())["step"] if state.exists() else 0


def test_ctrl_c_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    router_subprocess.train(DATA, ref, resume=False, every=0)
    out = tmp_path / "interrupted"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(HELPER), "--data", str(DATA), "--out", str(out), "--slow", "0.05"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while _committed_step(out) < 8:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared in time"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "--resume" in err
    stopped_at = _committed_step(out)
    saved = load_file(str(next((out / "checkpoint").glob("ckpt-*.safetensors"))))
    assert saved["model.bag.steps"] > 0 and abs(saved["model.bag.exp_avg"]).sum() > 0

    resumed = router_subprocess.train(DATA, out, resume=True, every=0)
    assert resumed.resumed and resumed.steps > stopped_at
    assert (out / "model.safetensors").read_bytes() == (ref / "model.safetensors").read_bytes()
    exported = load_file(str(out / "model.safetensors"))
    assert exported["bag.weight"].dtype.name == "float16"
    assert not {"bag.exp_avg", "bag.exp_avg_sq", "bag.steps", "probe_state"} & set(exported)

    # resuming a finished run only redoes finalize (refit + linear member): the same model
    again = router_subprocess.train(DATA, out, resume=True, every=0)
    assert again.resumed
    assert (out / "model.safetensors").read_bytes() == (ref / "model.safetensors").read_bytes()
    refits = [json.loads((d / "config.json").read_text())["router"]["refit"] for d in (out, ref)]
    assert refits[0] == refits[1]
