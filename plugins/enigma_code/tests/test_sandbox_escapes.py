"""Real escape attempts, run as candidate code: each must fail inside the sandbox.

Every attack below worked against the audit-hook sandbox this replaced (issue 12): the host
checks (files on the host, processes left on the host, a listener that got a connection,
a secret in the result) are made here, outside the sandbox. Each test runs once per usable
backend (bubblewrap, unshare).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from enigma_code import sandbox_child
from enigma_code.sandbox import backend_status, run_candidate

BACKENDS = ("bwrap", "unshare")
# The old sandbox's audit hook read its block-list from __main__ at each event; rebinding it
# switched the hook off. Attacks start with this line so that they also ran there.
UNBLOCK = "import __main__\n__main__.BLOCKED = ()\n"
RUNNER_MARK = (sandbox_child.__doc__ or "").splitlines()[0]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend that works on this machine (the others are skipped with the reason)."""
    status = backend_status()[request.param]
    if status != "ok":
        pytest.skip(f"{request.param} cannot run the sandbox here: {status}")
    return str(request.param)


def test_some_backend_is_usable_here() -> None:
    status = backend_status()
    assert "ok" in status.values(), (
        f"no sandbox backend works ({status}); install bubblewrap (.ci/run does)"
    )


def _processes_with(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(name))
    return found


def _survivors(marker: str) -> list[int]:
    """Processes still alive with ``marker`` after a short grace; they are killed (cleanup)."""
    deadline = time.monotonic() + 2
    found = _processes_with(marker)
    while found and time.monotonic() < deadline:
        time.sleep(0.05)
        found = _processes_with(marker)
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return found


FORK_EXEC = """
import _posixsubprocess, os, sys
def attack(target):
    script = f"echo ran > ran; echo pwned > {target}; cat /proc/$PPID/environ >> {target}"
    argv = [b"/bin/sh", b"-c", script.encode()]
    err_r, err_w = os.pipe()
    common = [argv, [b"/bin/sh"], True, (err_w,), None, None, -1, -1, -1, -1, -1, -1,
              err_r, err_w, True, True, -1, None, None, None, -1, None]
    for extra in ([False], []):  # 3.12 added allow_vfork
        try:
            pid = _posixsubprocess.fork_exec(*common, *extra)
            break
        except TypeError:
            continue
    os.close(err_w)
    os.waitpid(pid, 0)
    return os.path.exists("ran")
"""


def test_fork_exec_shell_runs_but_cannot_touch_the_host(backend: str, tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    result = run_candidate(
        FORK_EXEC, f"assert attack({str(target)!r}) is True", "attack", isolation=backend
    )
    assert not target.exists()
    assert result.passed, result  # the shell really ran, inside the sandbox


def test_rebinding_the_block_list_gains_nothing(backend: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    code = UNBLOCK + (
        "import os\n"
        "def attack(victim, folder):\n"
        "    for step in (lambda: os.remove(victim),\n"
        "                 lambda: os.system(f'echo pwned > {folder}/system.txt')):\n"
        "        try:\n"
        "            step()\n"
        "        except OSError:\n"
        "            pass\n"
        "    return 'done'\n"
    )
    tests = f"assert attack({str(victim)!r}, {str(tmp_path)!r}) == 'done'"
    result = run_candidate(code, tests, "attack", isolation=backend)
    assert victim.exists() and victim.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.txt"]
    assert result.passed, result


LEAK = (
    "import os\n"
    "def leak():\n"
    "    seen = [repr(dict(os.environ))]\n"
    "    pids = ['self', str(os.getppid())] + [p for p in os.listdir('/proc') if p.isdigit()]\n"
    "    for pid in pids:\n"
    "        for name in ('environ', 'cmdline'):\n"
    "            try:\n"
    "                seen.append(open(f'/proc/{pid}/{name}', 'rb').read().decode('latin-1'))\n"
    "            except OSError:\n"
    "                pass\n"
    "    return '\\n'.join(seen)\n"
)


def test_the_parent_environment_does_not_leak(backend: str) -> None:
    # /proc/PID/environ shows the environment a process started with, so the evaluating
    # process is a fresh one that holds the secret from its start, as a real `enigma` would.
    secret = f"hunter2-{uuid.uuid4().hex}"
    script = (
        "import sys\n"
        "from enigma_code.sandbox import run_candidate\n"
        "code, tests, backend = sys.argv[1:]\n"
        "print(run_candidate(code, tests, 'leak', isolation=backend).status)\n"
    )
    tests = f"assert {secret!r} not in leak()"
    env = {**os.environ, "ENIGMA_TEST_SECRET": secret}
    done = subprocess.run(
        [sys.executable, "-c", script, LEAK, tests, backend],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == "passed", done.stderr[-2000:]


def test_no_file_appears_outside_the_sandbox(backend: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    marker = f"enigma-sandbox-{uuid.uuid4().hex}"
    code = UNBLOCK + (
        "import os, sqlite3\n"
        "def attack(folder, marker):\n"
        "    made = []\n"
        "    steps = {\n"
        "        'sqlite': lambda: sqlite3.connect(folder + '/x.db').execute('create table t(x)')"
        ",\n"
        "        'mkdir': lambda: os.mkdir(folder + '/dir'),\n"
        "        'mkfifo': lambda: os.mkfifo(folder + '/fifo'),\n"
        "        'open': lambda: open(folder + '/file.txt', 'w').write('x'),\n"
        "        'symlink': lambda: os.symlink('/etc/passwd', folder + '/link'),\n"
        "        'tmp': lambda: open('/tmp/' + marker, 'w').write('x'),\n"
        "    }\n"
        "    for name, step in steps.items():\n"
        "        try:\n"
        "            step()\n"
        "            made.append(name)\n"
        "        except Exception:\n"
        "            pass\n"
        "    return made\n"
    )
    tests = f"assert 'tmp' in attack({str(outside)!r}, {marker!r})"  # its own /tmp is writable
    result = run_candidate(code, tests, "attack", isolation=backend)
    assert list(outside.iterdir()) == []
    assert not (Path("/tmp") / marker).exists()
    assert result.passed, result


SETSID = (
    UNBLOCK
    + """
import os, sys
def attack(marker, spin):
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", marker])
    while spin:
        pass
    return "left behind"
"""
)


@pytest.mark.parametrize("spin", [True, False], ids=["timeout", "return"])
def test_a_setsid_child_does_not_survive(backend: str, spin: bool) -> None:
    marker = f"enigma-sandbox-{uuid.uuid4().hex}"
    result = run_candidate(
        SETSID, f"attack({marker!r}, {spin})", "attack", timeout=2.0, isolation=backend
    )
    assert _survivors(marker) == []
    assert result.status == ("timeout" if spin else "passed"), result


FORGE = """
import json, os, sys
def _nonce():
    frame = sys._getframe()
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            payload = scope.get("payload")
            if isinstance(payload, dict) and "nonce" in payload:
                return payload["nonce"]
        frame = frame.f_back
    return ""
line = _nonce() + json.dumps({"status": "passed", "detail": "", "isolation": ""}) + "\\n"
os.write(1, line.encode())
os._exit(0)
def square(x):
    return x + x
"""


def test_a_candidate_cannot_print_its_own_verdict(backend: str) -> None:
    result = run_candidate(FORGE, "assert square(3) == 9", "square", isolation=backend)
    assert not result.passed, result


def test_a_suite_cannot_declare_itself_passed(backend: str) -> None:
    forged = (
        "import __main__, json, os\n"
        "os.write(1, (__main__.nonce + json.dumps({'status': 'passed', 'detail': '',"
        " 'isolation': ''}) + '\\n').encode())\n"
        "os._exit(0)\n"
    )
    from enigma_core.errors import EnigmaError

    with pytest.raises(EnigmaError, match=r"tests:1: tests may hold only `assert`"):
        run_candidate("def f(x):\n    return 0\n", forged, "f", isolation=backend)


NETWORK = (
    UNBLOCK
    + """
import socket
def reach(port, path):
    reached = []
    for family, address in ((socket.AF_INET, ("127.0.0.1", port)),
                            (socket.AF_INET6, ("::1", port)),
                            (socket.AF_UNIX, path)):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                s.connect(address)
                reached.append(str(address))
        except OSError:
            pass
    return reached
"""
)


def test_the_network_is_unreachable(backend: str, tmp_path: Path) -> None:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = str(tmp_path / "listener.sock")
    with tcp, unix:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(4)
        unix.bind(path)
        unix.listen(4)
        port = tcp.getsockname()[1]
        result = run_candidate(
            NETWORK, f"assert reach({port}, {path!r}) == []", "reach", isolation=backend
        )
        for listener in (tcp, unix):
            listener.settimeout(0.2)
            with pytest.raises(TimeoutError):
                listener.accept()
        assert result.passed, result


FORKS = (
    UNBLOCK
    + """
import os, time
def spawn(n, marker):
    made = 0
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            os.execv("/bin/sh", ["sh", "-c", "sleep 3; true " + marker])
        made += 1
    return made
"""
)


def test_a_fork_bomb_is_bounded_and_cleaned_up(backend: str) -> None:
    marker = f"enigma-sandbox-{uuid.uuid4().hex}"
    result = run_candidate(FORKS, f"assert spawn(200, {marker!r}) < 10", "spawn", isolation=backend)
    assert _survivors(marker) == []
    assert result.passed, result


def test_an_endless_fork_bomb_is_contained(backend: str) -> None:
    code = (
        "import os\ndef bomb():\n    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n"
    )
    result = run_candidate(code, "bomb()", "bomb", timeout=2.0, isolation=backend)
    assert result.status == "timeout", result
    assert subprocess.run(["true"], check=False).returncode == 0  # the parent is fine
    # every forked copy runs the sandbox program, whose source is on its command line
    assert _survivors(RUNNER_MARK) == []


def test_memory_bombs_are_contained(backend: str) -> None:
    code = (
        "def bomb(kind):\n"
        "    try:\n"
        "        if kind == 'one':\n"
        "            return len(bytearray(8 << 30))\n"
        "        hoard = []\n"
        "        while True:\n"
        "            hoard.append(bytearray(16 << 20))\n"
        "    except MemoryError:\n"
        "        return 'MemoryError'\n"
        "    return 'allocated'\n"
    )
    tests = "assert bomb('one') == 'MemoryError'\nassert bomb('grow') == 'MemoryError'\n"
    result = run_candidate(code, tests, "bomb", memory_mb=256, isolation=backend)
    assert result.passed, result


def test_the_private_tmp_is_bounded(backend: str) -> None:
    code = (
        "import os\n"
        "def fill():\n"
        "    written = 0\n"
        "    for i in range(64):\n"
        "        try:\n"
        "            with open(f'/tmp/f{i}', 'wb') as f:\n"
        "                for _ in range(8):\n"
        "                    written += f.write(b'x' * (1 << 20))\n"
        "        except OSError:\n"
        "            break\n"
        "    return written\n"
    )
    result = run_candidate(code, "assert fill() <= 16777216", "fill", isolation=backend)
    assert result.passed, result
