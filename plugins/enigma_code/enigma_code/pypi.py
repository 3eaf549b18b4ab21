"""Pinned, permissively licensed PyPI packages to mine: fetch their wheels, check each licence.

``enigma data code --pypi`` downloads the wheels named in :data:`PINNED` (exact versions, no
dependencies) with ``pip download`` into a cache folder, reads each wheel's ``METADATA`` and
refuses any package whose licence is not MIT, BSD, Apache or PSF. The ``.py`` files are unpacked
beside the wheel and mined like any source tree; every pair records package, version and licence.
Nothing fetched or mined is committed: the same command rebuilds it from PyPI (or offline, from
wheels already in the folder).
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from enigma_core.errors import EnigmaError

PINNED: tuple[tuple[str, str], ...] = (
    ("algorithms", "1.0.1"),  # MIT: classic algorithms, one small problem per file
    ("pygorithm", "1.0.4"),  # MIT: algorithms for learning
    ("more-itertools", "10.5.0"),  # MIT
    ("toolz", "1.0.0"),  # BSD
    ("boltons", "24.1.0"),  # BSD
    ("funcy", "2.1"),  # BSD
    ("pydash", "8.1.0"),  # MIT
    ("inflection", "0.5.1"),  # MIT
    ("python-string-utils", "1.0.0"),  # MIT
)
"""(name, version) of the packages mined; change a version here, never float it."""
PERMISSIVE = ("MIT", "BSD", "Apache", "PSF")
STDLIB_LICENCE = "PSF-2.0"


@dataclass(frozen=True)
class Source:
    """One unpacked package: where its files are and what may be done with them."""

    package: str
    version: str
    licence: str
    root: Path
    wheel: str

    @property
    def label(self) -> str:
        """The ``root`` label its pairs carry: ``name==version``."""
        return f"{self.package}=={self.version}"


def stated_licence(metadata: str) -> str:
    """What a wheel's METADATA says about its licence (``License-Expression``, ``License``,
    then the licence classifiers), as one line."""
    headers = HeaderParser().parsestr(metadata)
    stated = [headers.get("License-Expression") or "", (headers.get("License") or "")[:200]]
    stated += [c for c in headers.get_all("Classifier") or [] if c.startswith("License ::")]
    return " ".join(s.strip() for s in stated if s.strip())


_FAMILIES = (
    ("MIT", r"\bMIT\b"),
    ("BSD", r"\b0?BSD\b"),
    ("Apache", r"\bApache\b"),
    ("PSF", r"\bPSF\b|Python Software Foundation|\bPython-2\.0\b"),
)
_NOT_PERMISSIVE = re.compile(
    r"\b(?:A?GPL|LGPL|GNU|MPL|Mozilla|EPL|Eclipse|CDDL|EUPL|SSPL|BUSL|Proprietary|Commercial"
    r"|Non-?commercial|Creative Commons|CC-BY|Not\s+(?:MIT|BSD|Apache|PSF))\b",
    re.IGNORECASE,
)


def _family(text: str) -> str:
    """The first permissive family ``text`` names (``""`` for none)."""
    for family, pattern in _FAMILIES:
        if re.search(pattern, text):
            return family
    return ""


def licence_family(metadata: str) -> str:
    """MIT, BSD, Apache or PSF from a wheel's METADATA, ``""`` unless every licence it states
    is permissive: an SPDX ``License-Expression`` needs one ``OR`` branch whose every ``AND``
    term is permissive; otherwise ``License`` and the classifiers must name no other licence."""
    headers = HeaderParser().parsestr(metadata)
    expression = (headers.get("License-Expression") or "").strip()
    if expression:
        if "(" in expression:  # nested: every term must be permissive
            terms = re.split(r"[\s()]+(?:AND|OR|WITH)[\s()]+|[()]", expression)
            terms = [t.strip() for t in terms if t.strip()]
            families = [_family(t) for t in terms]
            return families[0] if terms and all(families) else ""
        for branch in re.split(r"\s+OR\s+", expression):
            families = [_family(t) for t in re.split(r"\s+(?:AND|WITH)\s+", branch)]
            if all(families) and not _NOT_PERMISSIVE.search(branch):
                return families[0]
        return ""
    text = stated_licence(metadata)
    if _NOT_PERMISSIVE.search(text):
        return ""
    return _family(text)


def _wheel_name(name: str) -> str:
    """A distribution name as wheel files spell it (``more-itertools`` -> ``more_itertools``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def find_wheel(folder: Path, name: str, version: str) -> Path | None:
    """The wheel of ``name==version`` already in ``folder``, if any."""
    prefix = f"{_wheel_name(name)}-{version}-"
    found = sorted(p for p in folder.glob("*.whl") if p.name.lower().startswith(prefix))
    return found[0] if found else None


def download(folder: Path, name: str, version: str) -> Path:
    """``pip download`` one pinned wheel (no dependencies) into ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(folder),
        f"{name}=={version}",
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnigmaError(f"pip download {name}=={version}: {exc}") from None
    wheel = find_wheel(folder, name, version)
    if done.returncode != 0 or wheel is None:
        last = (done.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
        raise EnigmaError(f"pip download {name}=={version} failed: {last}")
    return wheel


def unpack(wheel: Path, name: str, version: str) -> Source:
    """Check the wheel's licence and unpack its ``.py`` files beside it; refuses non-permissive."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            metas = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
            if not metas:
                raise EnigmaError(f"{wheel}: no METADATA in the wheel")
            metadata = archive.read(metas[0]).decode("utf-8", "replace")
            licence = licence_family(metadata)
            if licence not in PERMISSIVE:
                stated = stated_licence(metadata)[:80] or "none stated"
                raise EnigmaError(
                    f"{wheel.name}: licence {stated!r} is not one of "
                    f"{', '.join(PERMISSIVE)}; not mined"
                )
            root = wheel.parent / "src" / f"{_wheel_name(name)}-{version}"
            for member in archive.namelist():
                if member.endswith(".py") and ".." not in Path(member).parts:
                    target = root / member
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(member))
    except (OSError, zipfile.BadZipFile) as exc:
        raise EnigmaError(f"{wheel}: cannot read the wheel ({exc})") from None
    return Source(name, version, licence, root, wheel.name)


def fetch(
    folder: Path, pinned: tuple[tuple[str, str], ...] = PINNED, offline: bool = False
) -> list[Source]:
    """Every pinned package, downloaded unless its wheel is already in ``folder``, unpacked."""
    sources = []
    for name, version in pinned:
        wheel = find_wheel(folder, name, version)
        if wheel is None:
            if offline:
                raise EnigmaError(f"{folder}: no wheel for {name}=={version} (offline)")
            wheel = download(folder, name, version)
        sources.append(unpack(wheel, name, version))
    return sources
