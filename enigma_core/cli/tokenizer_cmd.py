"""``enigma tokenizer train|info``: build the shared tokenizer and show its identity."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from enigma_core.cli.common import print_json
from enigma_core.commands import JsonOpt
from enigma_core.errors import EnigmaError

app = typer.Typer(
    help="Train or inspect the shared tokenizer every model uses.", no_args_is_help=True
)

_DATA_SUFFIXES = (".txt", ".jsonl", ".json")


def _expand(paths: list[Path]) -> list[Path]:
    """Files given directly, plus the ``.txt``/``.jsonl`` files inside any given directory."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in _DATA_SUFFIXES)
            if not found:
                raise EnigmaError(f"{p}: directory holds no .txt or .jsonl files")
            out.extend(found)
        elif not p.exists():
            raise EnigmaError(f"{p}: file not found")
        else:
            out.append(p)
    return out


@app.command("train")
def train(
    files: Annotated[
        list[Path] | None, typer.Argument(help="More data files (so '--data a b c' works).")
    ] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="UTF-8 text/JSONL file or directory; repeatable."),
    ] = None,
    vocab_size: Annotated[int, typer.Option("--vocab-size", help="Number of ids.")] = 8192,
    out: Annotated[Path, typer.Option("--out", help="Where to write the tokenizer model.")] = Path(
        "tokenizer.model"
    ),
    stdlib_sample: Annotated[
        int,
        typer.Option(
            "--stdlib-sample",
            help="Also learn from ~N bytes of this Python's stdlib source (0: none).",
        ),
    ] = 0,
    data_repeat: Annotated[
        int,
        typer.Option("--data-repeat", help="Count each data line N times (weights prose vs code)."),
    ] = 1,
    json_out: JsonOpt = False,
) -> None:
    """Train a tokenizer (byte fallback, fixed special ids) and write it atomically.

    A ``<out>.manifest.json`` beside it records the input files' hashes and the options.
    """
    from enigma_core.tokenizer import train_tokenizer, write_manifest

    paths = _expand([*(data or []), *(files or [])])
    if not paths and stdlib_sample <= 0:
        raise EnigmaError("no training data: give --data FILE (or --stdlib-sample N)")
    if data_repeat < 1:
        raise EnigmaError(f"--data-repeat must be at least 1 (got {data_repeat})")
    started = time.perf_counter()
    tok = train_tokenizer(
        [p for p in paths for _ in range(data_repeat)],
        out,
        vocab_size,
        stdlib_sample_bytes=stdlib_sample,
    )
    seconds = round(time.perf_counter() - started, 2)
    manifest = write_manifest(
        tok, paths, data_repeat=data_repeat, stdlib_sample_bytes=stdlib_sample
    )
    info = tok.info() | {
        "files": [str(p) for p in paths],
        "data_repeat": data_repeat,
        "stdlib_sample_bytes": stdlib_sample,
        "seconds": seconds,
        "bytes": out.stat().st_size,
        "manifest": str(manifest),
    }
    if json_out:
        print_json(info)
        return
    sys.stdout.write(
        f"wrote {out} ({info['bytes']} bytes, vocab {tok.vocab_size}, sha256 {tok.sha256[:12]}) "
        f"from {len(paths)} file(s) in {seconds}s\n"
    )


@app.command("info")
def info(
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Tokenizer file (default: the one shipped with enigma)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the tokenizer's path, sha256, vocabulary size and fixed special ids."""
    from enigma_core.tokenizer import SharedTokenizer, default_tokenizer_path

    tok = SharedTokenizer.load(path if path is not None else default_tokenizer_path())
    facts = tok.info()
    if json_out:
        print_json(facts)
        return
    sys.stdout.write(
        f"path        {facts['path']}\nsha256      {facts['sha256']}\n"
        f"vocab_size  {facts['vocab_size']}\n"
    )
    specials = facts["special_ids"]
    assert isinstance(specials, dict)
    for name, idx in specials.items():
        sys.stdout.write(f"{name!s:<11} {idx}\n")
