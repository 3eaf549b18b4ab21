"""The code plugin's CLI: ``enigma data code``, ``enigma eval code``, ``enigma bench code``.

Registered by ``plugin.enigma_register_commands``. Heavy modules are imported inside the
commands so ``enigma --help`` stays fast. Data goes to stdout, progress to stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", help="Code model directory (default: the shipped weights)."),
]
UnsafeOpt = Annotated[
    bool,
    typer.Option(
        "--unsafe-no-isolation",
        help="Where neither bubblewrap nor unshare can isolate model code, run it anyway "
        "in a plain limited process (no security boundary).",
    ),
]


def _print(obj: Any, json_out: bool, lines: list[str]) -> None:
    """JSON on stdout under ``--json``, else the human lines."""
    if json_out:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def data_code(
    from_: Annotated[
        list[Path] | None,
        typer.Option(
            "--from",
            metavar="PATH",
            help="Python file or source tree to mine (repeatable; default: "
            "the running Python's standard library).",
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Training pairs (JSON lines); the held-out modules go "
            "to OUT's '.heldout.jsonl' sibling.",
        ),
    ] = Path("runs/code/stdlib.jsonl"),
    max_lines: Annotated[int, typer.Option(min=1, help="Skip functions longer than this.")] = 40,
    heldout: Annotated[
        float, typer.Option(min=0.0, max=0.99, help="Share of modules (files) held out.")
    ] = 0.1,
    pypi: Annotated[
        bool,
        typer.Option(
            "--pypi",
            help="Also mine the pinned, permissively licensed PyPI packages "
            "(enigma_code.pypi.PINNED; wheels fetched with pip into --wheels).",
        ),
    ] = False,
    wheels: Annotated[
        Path, typer.Option("--wheels", help="Folder of the downloaded wheels (a cache).")
    ] = Path("runs/code/pypi"),
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only wheels already in --wheels.")
    ] = False,
    library: Annotated[
        Path | None,
        typer.Option(
            "--library",
            help="Write the retrieval library here (with --pypi, default: "
            "ENIGMA_HOME/data/code_library.jsonl; without either, none is written).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Mine (request -> function) pairs from Python sources, split by module; with ``--pypi``
    or ``--library``, also write the retrieval library (self-contained stdlib and
    pinned-package functions, with licences)."""
    from enigma_code.candidates import borrow, default_library_path, stdlib_entry, write_library
    from enigma_code.mining import mine_to_files, stdlib_root
    from enigma_code.pypi import fetch
    from enigma_core.errors import EnigmaError

    if not 0 <= heldout < 1:
        raise EnigmaError(f"--heldout must be in [0, 1), got {heldout}")
    sources = fetch(wheels, offline=offline) if pypi else []
    roots = list(from_ or [stdlib_root()]) + [s.root for s in sources]
    labels = {s.root: (s.label, s.licence) for s in sources}
    counts: dict[str, Any] = dict(mine_to_files(roots, out, max_lines, heldout, labels))
    library_path = library or (default_library_path() if pypi else None)
    if library_path is not None:  # never replace a user's library unasked
        entries = [stdlib_entry()] + [(s.root, s.package, s.version, s.licence) for s in sources]
        counts["library"] = write_library(borrow(entries), library_path)
        counts["library_file"] = str(library_path)
    counts["sources"] = [{"package": "python", "licence": "PSF-2.0"}] + [
        {"package": s.package, "version": s.version, "licence": s.licence, "wheel": s.wheel}
        for s in sources
    ]
    _print(
        counts,
        json_out,
        [
            f"train    {counts['train']:>6} pairs from {counts['train_modules']} modules -> "
            f"{counts['train_file']}",
            f"held-out {counts['heldout']:>6} pairs from {counts['heldout_modules']} modules -> "
            f"{counts['heldout_file']}",
            *(
                [f"library  {counts['library']:>6} self-contained functions -> {library_path}"]
                if library_path is not None
                else []
            ),
            *[f"source   {s.label} ({s.licence}, {s.wheel})" for s in sources],
        ],
    )


def eval_code(
    model: ModelOpt = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Held-out pairs (JSON lines or Q/A text); "
            "default: runs/code/stdlib.heldout.jsonl, mined if missing.",
        ),
    ] = None,
    suite: Annotated[
        Path | None, typer.Option("--suite", help="Task suite file (default: the shipped one).")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=0, help="Generate for at most N held-out prompts (0 = all).")
    ] = 200,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Samples per request until one parses.")
    ] = 6,
    guided: Annotated[
        bool, typer.Option(help="Apply the lexical decoding guards (off: raw sampling).")
    ] = True,
    drafts: Annotated[
        int, typer.Option(min=1, max=32, help="Drafts sampled and checked per suite task.")
    ] = 5,
    library: Annotated[
        Path | None,
        typer.Option(
            "--library",
            help="Retrieval library (default: the one `enigma data code` "
            "wrote under ENIGMA_HOME, else the stdlib's, mined now).",
        ),
    ] = None,
    retrieved: Annotated[
        int, typer.Option(min=0, max=32, help="Library functions checked per task (0 = none).")
    ] = 5,
    unsafe_no_isolation: UnsafeOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Held-out perplexity, parse rate, exact match, and pass@1 on the unit-tested suite
    (with the retrieved library functions and, from the same drafts, the model's alone)."""
    from enigma_code.evaluate import evaluate
    from enigma_code.generate import CodeModel, CodeOptions
    from enigma_code.mining import heldout_path, mine_to_files, stdlib_root
    from enigma_code.qa import read_pairs
    from enigma_code.recipe import DEFAULT_MINED
    from enigma_code.sandbox import resolve_isolation
    from enigma_code.suite import load_suite

    isolation = resolve_isolation(allow_unsafe=unsafe_no_isolation)  # refuse before any work
    if data is None:
        data = heldout_path(DEFAULT_MINED)
        if not data.exists():
            mine_to_files([stdlib_root()], DEFAULT_MINED)
    code_model = CodeModel.load(model)
    pairs = read_pairs(data)
    tasks = load_suite(suite)

    def progress(stage: str, i: int, n: int) -> None:
        if not json_out and (i == n or i % 25 == 0):
            print(f"  {stage}: {i}/{n}", file=sys.stderr)

    from enigma_code.candidates import load_library

    lib = load_library(str(library) if library else None) if retrieved else None
    options = CodeOptions(max_attempts=max_attempts, guided=guided)
    report = evaluate(
        code_model, pairs, tasks, options, limit, progress, isolation, drafts, lib, retrieved
    )
    report["data"] = str(data)
    h, s = report["heldout"], report["suite"]
    _print(
        report,
        json_out,
        [
            f"model       {report['model']}",
            f"held-out    {h['examples']} pairs, {h['tokens']} completion tokens ({data})",
            f"perplexity  {h['perplexity']}",
            f"parses      {h['parse_rate']:.1%} of {h['generated']} answers "
            f"(first attempt {h['first_attempt_parse_rate']:.1%}, {h['mean_attempts']} attempts)",
            f"exact match {h['exact_match']:.1%}",
            *[
                f"suite {name:<6} pass@1 {p['pass_at_1']:.1%} of {p['tasks']} tasks; shown "
                f"{p['shown']}, of them wrong {p['shown_wrong']} ({p['shown_wrong_share']:.1%});"
                f" no answer {p['no_answer']}; unparseable shown {p['unparseable_shown']}; "
                f"failed drafts printed {p['failed_drafts_printed']}; median s to a verified "
                f"answer {p['median_seconds_verified']}"
                for name, p in s["parts"].items()
            ],
            *[
                f"model only {name:<6} pass@1 {p['pass_at_1']:.1%}; shown {p['shown']}, of them "
                f"wrong {p['shown_wrong']}; median s to a verified answer "
                f"{p['median_seconds_verified']}"
                for name, p in s.get("model_only", {}).items()
            ],
            f"library     {s.get('library_size', 0)} functions, {s.get('retrieved', 0)} "
            f"checked per task; shown from it: {len(s.get('shown_retrieved', []))}",
            f"outcomes    {s['outcomes']}",
            f"sandbox     {isolation.describe()}",
        ],
    )


def bench_code(
    model: ModelOpt = None,
    tokens: Annotated[int, typer.Option(min=1, help="Tokens decoded per run.")] = 256,
    runs: Annotated[int, typer.Option(min=1, help="Timed runs (the median is reported).")] = 5,
    threads: Annotated[
        int, typer.Option(min=1, max=256, help="BLAS threads in the benchmark process.")
    ] = 1,
    unsafe_no_isolation: UnsafeOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Decoding speed at batch 1 (first-token latency, tokens/s) and the sandbox's cost."""
    from enigma_code.bench import run_bench, sandbox_overhead
    from enigma_code.sandbox import resolve_isolation

    isolation = resolve_isolation(allow_unsafe=unsafe_no_isolation)
    r = run_bench(model, tokens, runs, threads)
    r["sandbox"] = box = sandbox_overhead(isolation)
    if "ratio" in box:
        sandbox_line = (
            f"{box['isolation']} {box['isolated_ms']} ms per candidate vs {box['baseline_ms']} "
            f"ms unisolated (x{box['ratio']}, median of {box['runs']})"
        )
    else:
        sandbox_line = f"none (unsafe) {box['baseline_ms']} ms per candidate"
    _print(
        r,
        json_out,
        [
            f"model            {r['model']} ({r['parameters']:,} parameters, "
            f"{r['layers']}x{r['width']}, context {r['context']})",
            f"threads / batch  {r['threads']} / {r['batch']}",
            f"first token      {r['first_token_ms']} ms (median of {r['runs']})",
            f"decode           {r['decode_tokens_per_s']} tokens/s (KV cache, greedy)",
            f"end to end       {r['end_to_end_tokens_per_s']} tokens/s over "
            f"{r['end_to_end_tokens']} tokens of real requests",
            f"sandbox          {sandbox_line}",
        ],
    )
