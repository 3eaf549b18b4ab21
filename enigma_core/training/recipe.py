"""The contract between the core training loop and plugins: :class:`TrainingRecipe`.

A plugin returns a recipe from the ``enigma_training_recipe`` hook; it supplies the task's parts
(reading data into :class:`Example` s, labels, head, batches, loss, metric, ``finalize``) and the
core runs the one loop. Torch is never imported here: default heads live in ``training.heads``.

The contract, in the order the core calls it: ``load_examples(paths, tokenizer)`` parses files
(training files, then the ``--valid`` file, each call only parses); ``add_examples(paths,
tokenizer)`` returns examples the recipe adds to the training set (generated data, plugin
examples), called once with the training files; the core splits validation off
(:func:`carve_validation`, the one splitter) unless a validation file is given, resolves labels,
then either runs its torch loop (``build_model``, ``make_batch``, ``loss``, ``evaluate``,
``make_optimizer``, ``finalize``) or, for a recipe with ``fit``, hands it a :class:`FitJob`
(train and validation examples, labels, hyper-parameters) and exports the :class:`FitResult`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from enigma_core.errors import EnigmaError

if TYPE_CHECKING:
    from torch import Tensor, nn

    from enigma_core.presets import ModelConfig
    from enigma_core.tokenizer import SharedTokenizer

HEADS = ("classify", "lm")
LM_PROMPT_TEMPLATE = "Q: {prompt}\nA: "
"""How a Q/A pair is shown to an LM: the completion follows ``A: `` (kept in ``config.json``)."""


@dataclass
class Example:
    """One training example, already tokenized.

    ``label`` (classification) is mapped to ``target`` by the loop once the label set is known.
    For LMs the loss covers ``ids[prompt_len:]`` only (the completion, eos included).
    ``source`` is ``file:line`` for messages.
    """

    ids: list[int]
    label: str | None = None
    target: int = -1
    prompt_len: int = 0
    source: str = ""
    text: str = ""  # the raw input, when the recipe keeps it (the split groups duplicates by it)


@dataclass
class HyperParams:
    """Training defaults of a recipe; ``enigma train`` options override them."""

    size: str = "nano"  # model size preset
    epochs: int = 20
    lr: float = 3e-3  # peak learning rate (after warmup)
    batch_size: int = 32
    warmup: float = 0.05  # fraction of all steps spent warming up linearly
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    weight_decay: float = 0.01
    grad_clip: float = 1.0  # max global grad norm; 0 = off
    patience: int = 10  # epochs without validation improvement before stopping; 0 = never
    dropout: float = 0.0
    valid_fraction: float = 0.1  # carved from training data when no validation file is given
    min_examples: int = 50  # fewer training examples than this gets a warning

    def replace(self, **changes: Any) -> HyperParams:
        """A copy with the non-None ``changes`` applied."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update({k: v for k, v in changes.items() if v is not None})
        return HyperParams(**data)


@dataclass
class RecipeContext:
    """What the loop hands to ``make_batch``/``evaluate``/``finalize``: shared facts of the run."""

    tokenizer: SharedTokenizer
    config: ModelConfig
    labels: tuple[str, ...]
    device: str
    batch_size: int
    recipe: TrainingRecipe
    out_dir: Path | None = None
    seed: int = 0
    train_paths: tuple[Path, ...] = ()  # the training files (``--data`` or the default)
    valid_carved: bool = False  # the validation set was split off the training data

    def batch(self, examples: Sequence[Example]) -> dict[str, Any]:
        """A device batch of ``examples`` made by the recipe's (or the default) ``make_batch``."""
        return self.recipe.batch_fn()(examples, self)

    def eval_batches(self, examples: Sequence[Example]) -> Iterable[dict[str, Any]]:
        """Batches of ``examples`` in length order (for fast, deterministic evaluation)."""
        order = sorted(range(len(examples)), key=lambda i: (len(examples[i].ids), i))
        for s in range(0, len(order), self.batch_size):
            yield self.batch([examples[i] for i in order[s : s + self.batch_size]])


LoadFn = Callable[[Sequence[Path], "SharedTokenizer"], list[Example]]
BuildFn = Callable[["ModelConfig"], "nn.Module"]
BatchFn = Callable[[Sequence[Example], RecipeContext], dict[str, Any]]
LossFn = Callable[["nn.Module", dict[str, Any]], "Tensor"]
EvalFn = Callable[["nn.Module", Sequence[Example], RecipeContext], dict[str, float]]
FinalizeFn = Callable[
    ["nn.Module", Sequence[Example], Sequence[Example], RecipeContext], dict[str, Any]
]
AddFn = Callable[[Sequence[Path], "SharedTokenizer"], list[Example]]
OptimizerFn = Callable[["nn.Module", "HyperParams"], "Optimizer"]
FitFn = Callable[["FitJob"], "FitResult"]


class Optimizer(Protocol):
    """What the torch loop needs from an optimizer (``make_optimizer``; default: core AdamW).

    The loop sets ``lr`` before every step (its warmup + cosine schedule), then calls
    ``zero_grad()``, backward, ``step()``; checkpoints carry ``state_tensors()``.
    """

    lr: float

    def zero_grad(self) -> None: ...

    def step(self) -> None: ...

    def state_tensors(self) -> dict[str, Tensor]: ...

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None: ...


@dataclass
class FitJob:
    """What the core hands a recipe that trains itself (``TrainingRecipe.fit``).

    ``log(row)`` reports progress: ``{"phase", "epoch", "epochs", "step", "steps", "train_loss",
    <metric>, ...}``; the core prints it (plain lines when stderr is not a terminal) and stops
    with a one-line error when a loss in it is not finite.
    """

    train: list[Example]
    valid: list[Example]
    labels: tuple[str, ...]
    hyper: HyperParams
    seed: int
    tokenizer: SharedTokenizer
    train_paths: tuple[Path, ...]
    valid_carved: bool
    out_dir: Path
    log: Callable[[dict[str, Any]], None]


@dataclass
class FitResult:
    """What ``fit`` returns: arrays to export and what ``config.json`` records.

    ``tensors`` (numpy arrays) go to ``model.safetensors`` (``half`` ones as float16); ``meta``
    is merged into ``config.json``; its keys named in ``TrainingRecipe.protected_meta`` are
    also stored inside the weights file, and loading refuses a ``config.json`` that differs.
    """

    tensors: dict[str, Any]
    meta: dict[str, Any]
    history: list[dict[str, Any]]
    parameters: int
    steps: int
    epochs_run: int
    best_value: float | None = None
    best_epoch: int = 0


@dataclass
class TrainingRecipe:
    """Task-specific parts of training; anything left None uses the default for ``head``.

    - ``load_examples(paths, tokenizer)`` parses data files (EnigmaError ``file:line: ...``).
    - ``head``: ``"classify"`` (labels -> classification head) or ``"lm"`` (tied LM head).
    - ``labels``: fixed label set; None derives the sorted set from the training data.
    - ``metric``/``higher_is_better``: the validation metric that picks the best epoch and
      drives early stopping; ``evaluate`` must return it (default heads return
      ``accuracy``/``val_loss`` for classify, ``val_loss``/``token_accuracy`` for lm).
    - ``finalize(model, train, valid, ctx)`` runs once on the best model; the dict it returns
      is merged into ``config.json`` (e.g. the router's calibrated thresholds).
    - ``meta``: static extra entries for ``config.json`` (e.g. the prompt template).
    - ``half_tensors``: names of floating tensors the exported ``model.safetensors`` stores in
      float16 (halves big tables on disk; checkpoints stay float32 so resume is exact).
    - ``export_exclude``: state-dict entries kept in checkpoints (so ``--resume`` is exact) but
      not exported.
    - ``add_examples(paths, tokenizer)``: extra training examples (see the module doc).
    - ``make_optimizer(model, hyper)``: the recipe's own :class:`Optimizer` for the torch loop.
    - ``fit(job)``: the recipe trains itself (no torch loop, no checkpoints); see :class:`FitJob`.
    - ``protected_meta``: ``config.json`` keys inference depends on; they are stored in the
      weights file too (``labels``, ``tokenizer``, ``task``, ``head`` and ``model`` always are).
    """

    task: str
    load_examples: LoadFn
    head: str = "classify"
    default_data: tuple[Path, ...] = ()
    default_valid: Path | None = None
    labels: tuple[str, ...] | None = None
    metric: str = "accuracy"
    higher_is_better: bool = True
    hyper: HyperParams = field(default_factory=HyperParams)
    build_model: BuildFn | None = None
    make_batch: BatchFn | None = None
    loss: LossFn | None = None
    evaluate: EvalFn | None = None
    finalize: FinalizeFn | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    half_tensors: tuple[str, ...] = ()
    export_exclude: tuple[str, ...] = ()
    add_examples: AddFn | None = None
    make_optimizer: OptimizerFn | None = None
    fit: FitFn | None = None
    protected_meta: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    """Values of the task's ``TaskOption(train=True)`` options given to ``enigma train``."""

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise EnigmaError(
                f"recipe {self.task!r}: head must be one of {HEADS}, not {self.head!r}"
            )
        self.default_data = tuple(Path(p) for p in self.default_data)
        if self.default_valid is not None:
            self.default_valid = Path(self.default_valid)
        if self.labels is not None:
            self.labels = tuple(self.labels)

    # The loop calls these; each falls back to the default of the recipe's head.
    def model_fn(self) -> BuildFn:
        """The model builder (default: :class:`enigma_core.model.EnigmaTransformer`)."""
        if self.build_model is not None:
            return self.build_model
        from enigma_core.model import build_model

        return build_model

    def batch_fn(self) -> BatchFn:
        """The batch maker (default: right-padded per batch, see ``training.heads``)."""
        if self.make_batch is not None:
            return self.make_batch
        from enigma_core.training import heads

        return heads.make_batch

    def loss_fn(self) -> LossFn:
        """The loss (default: cross-entropy of the head)."""
        if self.loss is not None:
            return self.loss
        from enigma_core.training import heads

        return heads.classify_loss if self.head == "classify" else heads.lm_loss

    def eval_fn(self) -> EvalFn:
        """The evaluation (default: accuracy + loss, or token loss + token accuracy)."""
        if self.evaluate is not None:
            return self.evaluate
        from enigma_core.training import heads

        return heads.evaluate_classify if self.head == "classify" else heads.evaluate_lm


# -- generic helpers plugins reuse --------------------------------------------------------------
def split_key(example: Example, seed: int) -> str:
    """A stable hash of an example's input, used to carve validation sets deterministically.

    The input is the example's ``text`` (case- and space-folded) when it has one, else its ids;
    the label is left out, so identical inputs always land on the same side.
    """
    if example.text:
        data = f"{seed}|t|" + " ".join(example.text.casefold().split())
    else:
        data = f"{seed}|{example.prompt_len}|" + ",".join(map(str, example.ids))
    return hashlib.sha256(data.encode()).hexdigest()


def carve_validation(
    examples: Sequence[Example], fraction: float, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """Split ``(train, valid)`` deterministically; the one validation splitter of every trainer.

    Per label, the distinct inputs (:func:`split_key`) are ranked by hash and the lowest
    ``max(1, round(fraction * n))`` go to validation, so duplicates never straddle the split and
    the split does not depend on file order. A label with fewer than 3 distinct inputs stays in
    training. Returns the examples in their original order.
    """
    if not 0.0 <= fraction < 1.0:
        raise EnigmaError(f"validation fraction must be in [0, 1), not {fraction}")
    if fraction == 0 or len(examples) < 5:
        return list(examples), []
    keys = [split_key(ex, seed) for ex in examples]
    groups: dict[str | None, set[str]] = {}
    for ex, key in zip(examples, keys, strict=True):
        groups.setdefault(ex.label, set()).add(key)
    chosen: set[str] = set()
    for distinct in groups.values():
        if len(distinct) < 3:
            continue
        n_valid = min(len(distinct) - 1, max(1, round(len(distinct) * fraction)))
        chosen.update(sorted(distinct)[:n_valid])
    train = [ex for ex, k in zip(examples, keys, strict=True) if k not in chosen]
    valid = [ex for ex, k in zip(examples, keys, strict=True) if k in chosen]
    return train, valid


@dataclass(frozen=True)
class QAPair:
    """A prompt -> completion pair parsed from a data file, with ``file:line`` as source."""

    prompt: str
    completion: str
    source: str = ""


def encode_lm_prompt(
    tokenizer: SharedTokenizer, prompt: str, template: str = LM_PROMPT_TEMPLATE
) -> list[int]:
    """Token ids an LM recipe's model is prompted with: bos + template(prompt).

    Use the same function (and the ``prompt_template`` stored in ``config.json``) at inference.
    """
    return tokenizer.encode(template.format(prompt=prompt), add_bos=True)


def encode_qa(
    tokenizer: SharedTokenizer, pair: QAPair, template: str = LM_PROMPT_TEMPLATE
) -> Example:
    """One LM :class:`Example`: prompt ids, then completion ids + eos (the loss covers those)."""
    prompt = encode_lm_prompt(tokenizer, pair.prompt, template)
    completion = tokenizer.encode(pair.completion, add_eos=True)
    return Example(ids=prompt + completion, prompt_len=len(prompt), source=pair.source)


def make_lm_recipe(
    task: str,
    parse_file: Callable[[Path], Iterable[QAPair | tuple[str, str]]],
    *,
    default_data: Sequence[Path] = (),
    default_valid: Path | None = None,
    template: str = LM_PROMPT_TEMPLATE,
    hyper: HyperParams | None = None,
    metric: str = "val_loss",
    finalize: FinalizeFn | None = None,
    meta: dict[str, Any] | None = None,
    description: str = "",
) -> TrainingRecipe:
    """A causal-LM recipe for prompt -> completion data (loss only on completion tokens).

    ``parse_file(path)`` yields :class:`QAPair` s (or ``(prompt, completion)`` tuples) and raises
    EnigmaError ``file:line: ...`` on bad lines. The template is saved in ``config.json`` as
    ``prompt_template``; encode prompts at inference with :func:`encode_lm_prompt`.
    """
    if "{prompt}" not in template:
        raise EnigmaError(f"recipe {task!r}: template must contain '{{prompt}}'")

    def load_examples(paths: Sequence[Path], tokenizer: SharedTokenizer) -> list[Example]:
        """Parse every file and encode each pair with the template."""
        examples = []
        for path in paths:
            for n, item in enumerate(parse_file(Path(path)), 1):
                pair = item if isinstance(item, QAPair) else QAPair(*item, source=f"{path}#{n}")
                examples.append(encode_qa(tokenizer, pair, template))
        return examples

    higher = metric in ("token_accuracy", "accuracy", "exact_match")
    return TrainingRecipe(
        task=task,
        load_examples=load_examples,
        head="lm",
        default_data=tuple(Path(p) for p in default_data),
        default_valid=default_valid,
        metric=metric,
        higher_is_better=higher,
        hyper=hyper or HyperParams(size="tiny", epochs=40, lr=1e-3, batch_size=16, patience=8),
        finalize=finalize,
        meta={"prompt_template": template, **(meta or {})},
        description=description,
    )
