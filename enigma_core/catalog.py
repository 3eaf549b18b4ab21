"""Intents the project knows even when their plugin is not installed, and what to install.

Used to tell a user "install enigma-vision" instead of silently answering with the default
task, and to let keyword routing recognise those intents.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownIntent:
    """A first-party intent: the distribution that provides it (None: none exists yet)."""

    intent: str
    distribution: str | None
    install: str
    keywords: tuple[str, ...]


KNOWN_INTENTS: dict[str, KnownIntent] = {
    "code": KnownIntent(
        "code",
        "enigma-code",
        "pip install ./plugins/enigma_code",
        (
            "code",
            "function",
            "python",
            "script",
            "implement",
            "program",
            "def ",
            "class ",
            "regex",
            "algorithm",
        ),
    ),
    "vision": KnownIntent(
        "vision",
        "enigma-vision",
        "pip install ./plugins/enigma_vision",
        (
            "describe",
            "photo",
            "picture",
            "image",
            "what is in",
            ".jpg",
            ".jpeg",
            ".png",
            ".webp",
            ".gif",
            "screenshot",
        ),
    ),
    "image": KnownIntent(
        "image",
        None,
        "",
        (
            "draw",
            "paint",
            "sketch",
            "generate an image",
            "generate a picture",
            "create an image",
            "make an image",
            "make a picture",
            "illustration",
            "render",
            "artwork",
        ),
    ),
}


def missing_plugin_message(intent: str) -> str:
    """The answer given when ``intent`` belongs to a plugin that is not installed."""
    known = KNOWN_INTENTS.get(intent)
    if known is None or known.distribution is None:
        return (
            f"No installed plugin handles '{intent}' requests; "
            "see `enigma plugins` for what is installed."
        )
    return (
        f"This looks like a '{intent}' request, but the {known.distribution} plugin is not "
        f"installed. Install it with: {known.install}  (or: pip install {known.distribution})"
    )
