"""Finds what to describe inside a free-text request: an image path or a features string.

Handles ``describe photo.jpg``, ``what is in ~/pics/cat.png?``, quoted paths (with spaces),
unquoted paths with spaces when the file exists, ``file://`` URLs and ``[E:vision] <features>``.
Whether a file exists is asked only under the request's file access (never, for a server).
"""

from __future__ import annotations

import re

from enigma_core.context import FileAccess
from enigma_core.errors import EnigmaError
from enigma_vision.access import exists

IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff")
_EXT = "|".join(IMAGE_EXTENSIONS)
_QUOTED = re.compile(r"""(["'`“‘])(?P<path>[^"'`”’\n]+?)(["'`”’])""")
_BARE = re.compile(rf"(?P<path>[^\s\"'`<>|]*\.(?:{_EXT}))(?![A-Za-z0-9_])", re.IGNORECASE)
_URL = re.compile(r"\b(?:https?|ftp)://\S+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>"
_MARKER = "[E:vision]"
_LEAD = re.compile(
    r"^\s*(?:please\s+)?(?:describe|caption|what(?:'s| is| do you see)?(?: in)?|"
    r"tell me about|look at|features?:?)\s*[:\-]?\s*",
    re.IGNORECASE,
)


def _name(text: str) -> str:
    """A path as written, without a ``file://`` prefix."""
    return text[len("file://") :] if text.lower().startswith("file://") else text


def _looks_like_image(text: str) -> bool:
    """True when ``text`` ends with an image extension."""
    return text.lower().rsplit(".", 1)[-1] in IMAGE_EXTENSIONS and "." in text


def find_image_path(request: str, files: FileAccess | None = None) -> str | None:
    """The image path named in ``request`` (as written, ``~`` kept), or None when there is none.

    A quoted string wins when it names an existing file or ends with an image extension.
    Unquoted, the longest run of words ending in ``.png`` (etc.) that exists is taken, so
    ``describe My Photos/cat.png`` works when that file exists; else the last word itself.
    Existence is checked only for files that ``files`` (default: the local user's) may open.
    """
    files = files or FileAccess.user()
    url = _URL.search(request)
    for match in _QUOTED.finditer(request):
        candidate = match["path"].strip()
        if candidate and (_looks_like_image(candidate) or exists(candidate, files)):
            return _name(candidate)
    if url and _looks_like_image(url.group(0).rstrip(_TRAILING)):
        raise EnigmaError(
            f"{url.group(0).rstrip(_TRAILING)}: cannot fetch images from the web (enigma works "
            "offline); download it and give the local path"
        )
    for match in _BARE.finditer(request):
        token = match["path"]
        words = request[: match.start()].split(" ")
        best = token
        for n in range(1, min(8, len(words)) + 1):
            longer = " ".join([*words[len(words) - n :]]) + token
            if longer.strip() and exists(longer.strip(), files):
                best = longer.strip()
        return _name(best)
    for word in request.split():
        word = word.rstrip(_TRAILING)
        if ("/" in word or word.startswith("~")) and exists(word, files):
            return _name(word)
    return None


def find_features(request: str) -> str | None:
    """A features string in ``request`` (``[E:vision] a, b`` or a comma list), else None."""
    if _MARKER in request:
        rest = request.split(_MARKER, 1)[1].strip()
        return rest or None
    body = _LEAD.sub("", request.strip(), count=1).strip().rstrip(".?!").strip()
    if "," in body and all(part.strip() for part in body.split(",")):
        return body
    return None
