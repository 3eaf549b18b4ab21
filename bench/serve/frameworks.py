"""Why Starlette: the same two endpoints on Starlette and on FastAPI, both under uvicorn.

Usage: ``pip install fastapi && python bench/serve/frameworks.py [--rounds 3]``. A trivial GET
and a small JSON POST, wrk (or the Python client) at concurrency 16, rounds interleaved.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from loadgen import have_wrk, run_python, run_wrk

APPS = {
    "starlette": """
import json
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def ping(request):
    return Response(b'{"ok":true}', media_type="application/json")

async def post(request):
    body = json.loads(await request.body())
    return Response(json.dumps({"n": len(body["input"])}).encode(), media_type="application/json")

app = Starlette(routes=[Route("/ping", ping), Route("/post", post, methods=["POST"])])
""",
    "fastapi": """
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()

class In(BaseModel):
    input: str

@app.get("/ping")
async def ping():
    return {"ok": True}

@app.post("/post")
async def post(body: In):
    return {"n": len(body.input)}
""",
}
BODY = json.dumps({"input": "write a function that reverses a string"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    client = run_wrk if have_wrk() else run_python
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        for port, (name, source) in enumerate(APPS.items(), start=18871):
            (Path(tmp) / f"{name}_app.py").write_text(source)
            procs[name] = (subprocess.Popen(
                [sys.executable, "-m", "uvicorn", f"{name}_app:app", "--port", str(port),
                 "--log-level", "warning", "--no-access-log"], cwd=tmp,
            ), f"http://127.0.0.1:{port}")  # fmt: skip
        try:
            for _, url in procs.values():
                for _ in range(100):
                    try:
                        urllib.request.urlopen(url + "/ping", timeout=1)
                        break
                    except OSError:
                        time.sleep(0.1)
            for _ in range(args.rounds):
                for name, (_, url) in procs.items():
                    get = client(url + "/ping", "GET", None, 16, args.duration)
                    post = client(url + "/post", "POST", BODY, 16, args.duration)
                    results.setdefault((name, "GET"), []).append(get.rps)
                    results.setdefault((name, "POST"), []).append(post.rps)
        finally:
            for proc, _ in procs.values():
                proc.terminate()
                proc.wait(timeout=30)
    for (name, method), values in results.items():
        median = sorted(values)[len(values) // 2]
        print(f"{name:10} {method:5} {median:>9,.0f} req/s (median of {len(values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
