"""CLI commands of the vision plugin: ``enigma data vision``, ``eval vision``, ``bench vision``.

Registered through the ``enigma_register_commands`` hook; heavy imports stay inside functions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def _out(obj: object) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def data_vision(
    synthetic: Annotated[
        int, typer.Option("--synthetic", min=0, help="How many images to draw.")
    ] = 200,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("vision_data"),
    seed: Annotated[int, typer.Option("--seed", help="Seed; same seed, same images.")] = 0,
    start: Annotated[int, typer.Option("--start", min=0, help="Index of the first image.")] = 0,
    qa: Annotated[
        Path | None, typer.Option("--qa", help="Also write Q/A training pairs to this file.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Draw procedural images (shapes, colours, places) with exact ground truth and captions."""
    from enigma_core.errors import EnigmaError
    from enigma_vision.synth import write_dataset

    if synthetic < 1:
        raise EnigmaError(f"--synthetic must be at least 1, got {synthetic}")
    labels = write_dataset(out, synthetic, seed=seed, start=start)
    report = {"images": synthetic, "out": str(out), "labels": str(labels), "seed": seed}
    if qa is not None:
        from enigma_vision.training_data import write_pairs

        report["qa_pairs"] = write_pairs(qa, synthetic, seed=seed, start=start)
        report["qa"] = str(qa)
    if json_out:
        _out(report)
    else:
        typer.echo(f"wrote {synthetic} images and {labels}" + (f", pairs to {qa}" if qa else ""))


def eval_vision(
    data: Annotated[
        Path | None, typer.Option("--data", help="Folder made by 'enigma data vision'.")
    ] = None,
    real: Annotated[
        bool, typer.Option("--real", help="Real photos shipped in installed packages instead.")
    ] = False,
    model: Annotated[
        Path | None, typer.Option("--model", help="Caption model folder (default: shipped).")
    ] = None,
    template: Annotated[
        bool, typer.Option("--template", help="Ignore any model: template captions only.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Score only the first N images.")
    ] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Procedural set: attribute accuracy, hallucination rate, BLEU. ``--real``: false
    statements, true facts and words per caption on real photos from installed packages."""
    from enigma_core.errors import EnigmaError
    from enigma_vision.api import default_captioner
    from enigma_vision.evaluate import evaluate_dir
    from enigma_vision.model import Captioner, load_captioner

    if template:
        captioner = Captioner()
    else:
        captioner = load_captioner(model) if model is not None else default_captioner()
    if real:
        _eval_real(captioner, json_out)
        return
    if data is None:
        raise EnigmaError("give --data DIR (a folder made by 'enigma data vision') or --real")
    report = evaluate_dir(data, captioner, limit=limit or None)
    report["model"] = captioner.info()
    if json_out:
        _out(report)
        return
    cap, feat = report["caption"], report["features"]
    typer.echo(f"images: {report['images']}   captions from: {report['caption_sources']}")
    for name in ("colours", "shapes", "counts", "positions", "attribute_accuracy"):
        typer.echo(f"{name:>20}: caption {cap[name]:.3f}   features {feat[name]:.3f}")
    typer.echo(f"{'hallucination_rate':>20}: caption {cap['hallucination_rate']:.3f}")
    typer.echo(f"{'BLEU (smoke)':>20}: {report['bleu']:.1f}   mean {report['mean_ms']:.1f} ms")


def _eval_real(captioner: object, json_out: bool) -> None:
    """Print the real-photo evaluation (see :mod:`enigma_vision.realeval`)."""
    from enigma_vision.labelled import kind_confusion
    from enigma_vision.realeval import evaluate_real

    report = evaluate_real(captioner)
    report["model"] = captioner.info()  # type: ignore[attr-defined]
    report["generated_kinds"] = kind_confusion()
    if json_out:
        _out(report)
        return
    for row in report["rows"]:
        flags = f" FALSE {row['false']}" if row["false"] else ""
        flags += f" UNJUDGED {row['unjudged']}" if row["unjudged"] else ""
        typer.echo(f"{row['id']}: {row['caption']} [{row['source']}, "
                   f"{len(row['facts_covered'])} facts]{flags}")  # fmt: skip
    for skip in report["skipped"]:
        typer.echo(f"skipped {skip['id']}: {skip['reason']}")
    typer.echo("rules against the hand labels (hits / false alarms / misses):")
    for name, t in report["rules"].items():
        if name.split(":")[0] in ("kind", "region", "scene", "time", "faces", "subject_place"):
            typer.echo(f"  {name:22s} {t['tp']:3d} / {t['fp']:2d} / {t['fn']:2d}")
    typer.echo(f"generated pictures, true kind -> named: {report['generated_kinds']}")
    for name, totals in (("real photos", report), ("all pictures", report["all_pictures"])):
        if "photos" not in totals:
            continue
        typer.echo(
            f"{name}: {totals['photos']}  false statements {totals['false_statements']}  "
            f"true facts/photo {totals['true_facts_per_photo']:.2f} "
            f"(of {totals['facts_listed_per_photo']:.1f} listed)  "
            f"words/caption {totals['words_per_caption']:.1f}  "
            f"unjudged {totals['unjudged_claims']}  doubtful {totals['doubtful_claims']}  "
            f"model captions {totals['model_captions']}/{totals['photos']}  "
            f"median {totals['median_ms']:.0f} ms"
        )


def bench_vision(
    images: Annotated[int, typer.Option("--images", min=1, help="Procedural images to time.")] = 50,
    model: Annotated[
        Path | None, typer.Option("--model", help="Caption model folder (default: shipped).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """File → caption milliseconds per image at the default size, in a 1-thread subprocess."""
    from enigma_vision.bench import run_bench_subprocess

    report = run_bench_subprocess(images, model)
    if json_out:
        _out(report)
        return
    typer.echo(
        f"{report['images']} images, 1 thread, captions from {report['caption_sources']}: "
        f"median {report['median_ms']:.1f} ms, p90 {report['p90_ms']:.1f} ms "
        f"(features {report['features_median_ms']:.1f} ms, caption "
        f"{report['caption_median_ms']:.1f} ms)"
    )
    for row in report["sample_photos"]:
        typer.echo(f"  {row['file']}: {row['caption']} [{row['source']}, {row['ms']} ms]")
