"""The caption model at inference: features text in, one sentence out, numpy only (no torch).

:class:`Captioner` wraps an optional trained model; without one it still captions through the
template, so the plugin works on a fresh install with no weights at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.errors import EnigmaError

if TYPE_CHECKING:
    from enigma_core.inference import AllowedTokens

VISION_MARKER = "[E:vision]"
MAX_CAPTION_TOKENS = 72
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Where the default caption model ships inside the package (``model.safetensors``...)."""


def prompt_text(features_text: str) -> str:
    """The question the caption model is trained and prompted with (the seed's ``Q:`` line)."""
    return f"{VISION_MARKER} {features_text}"


@dataclass
class Captioner:
    """A loaded caption model (or none: template only) plus what is known about it."""

    model: Any = None  # enigma_core.inference.NumpyTransformer
    tokenizer: Any = None  # enigma_core.tokenizer.SharedTokenizer
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    status: str = "template only"

    @property
    def has_model(self) -> bool:
        """True when a trained model is loaded."""
        return self.model is not None

    def generate(self, features_text: str, allowed: set[str] | None = None) -> str | None:
        """The model's caption for a features string (greedy), or None with no model.

        With ``allowed`` words, decoding is constrained: only tokens that spell those words,
        punctuation and end-of-text may be chosen, so the model cannot even start a word the
        features do not support (the guard still checks the finished caption). Decoding is the
        core's loop with its own KV cache per call, so threads may share one captioner.
        """
        if self.model is None:
            return None
        from enigma_core.inference import SamplingParams, generate_ids
        from enigma_core.training.recipe import LM_PROMPT_TEMPLATE, encode_lm_prompt

        template = self.meta.get("prompt_template", LM_PROMPT_TEMPLATE)
        ids = encode_lm_prompt(self.tokenizer, prompt_text(features_text), template)
        processors = [] if allowed is None else [self.allowed_tokens(allowed)]
        status: dict[str, str] = {}
        params = SamplingParams(max_new_tokens=MAX_CAPTION_TOKENS)
        eos = int(self.tokenizer.eos_id)
        out = list(generate_ids(self.model, ids, params, eos, status=status, processors=processors))
        if status["reason"] != "eos":
            return ""  # ran out of room: an unfinished sentence is never shown
        return str(self.tokenizer.decode(out)).strip()

    def allowed_tokens(self, allowed: set[str]) -> AllowedTokens:
        """Logits processor allowing only the tokens of ``allowed`` words, punctuation and eos."""
        from enigma_core.inference import AllowedTokens

        ids: set[int] = {int(self.tokenizer.eos_id)}
        for word in allowed:
            for form in (word, word.capitalize()):
                ids.update(self.tokenizer.encode(form))
                ids.update(self.tokenizer.encode(f"x {form}")[1:])
        ids.update(self.tokenizer.encode("x, y. z, w."))
        return AllowedTokens(ids, self.model.config.vocab_size)

    def close(self) -> None:
        """Drop the model."""
        self.model = None

    def info(self) -> dict[str, Any]:
        """JSON-friendly description (path, status, size, metrics)."""
        return {
            "path": str(self.path) if self.path else None,
            "status": self.status,
            "size": self.meta.get("preset") or self.meta.get("size"),
            "metrics": self.meta.get("metrics", {}),
        }


def load_captioner(model_dir: str | Path | None = None, tokenizer: Any = None) -> Captioner:
    """Load the caption model of ``model_dir`` (None: the shipped default, if present).

    ``tokenizer`` is the shared tokenizer, or a function returning it (called only when there
    are weights to load), or None for the one shipped with enigma-core. An explicitly given
    directory that cannot be loaded is an :class:`EnigmaError`; a missing shipped default, or
    one trained with another tokenizer, falls back to template only.
    """
    explicit = model_dir is not None
    directory = Path(model_dir).expanduser() if explicit else WEIGHTS_DIR
    if not (directory / "config.json").is_file():
        if explicit:
            raise EnigmaError(f"{directory}: no caption model here (config.json missing)")
        return Captioner(status="template only (no shipped weights)")
    try:
        from enigma_core.inference import load_model

        if callable(tokenizer):
            tokenizer = tokenizer()
        if tokenizer is None:
            from enigma_core.tokenizer import load_default

            tokenizer = load_default()
        model, meta = load_model(directory, tokenizer)
    except EnigmaError as exc:
        if explicit:
            raise
        return Captioner(status=f"template only ({exc})")
    return Captioner(model, tokenizer, meta, directory, status="model")
