"""Parsing generated code quietly: a draft such as ``1st = 2`` makes Python's compiler print a
``SyntaxWarning`` on stderr, which would reach the user's terminal next to the answer.

Drafts are compiled under one pseudo file name, and a warnings filter scoped to that name (not
to the process) drops the compiler's warnings for drafts only; thread-safe, unlike
``warnings.catch_warnings``.
"""

from __future__ import annotations

import ast
import re
import warnings

DRAFT_FILE = "<enigma-draft>"
"""The file name drafts are compiled under (what tracebacks and the filter see)."""

warnings.filterwarnings("ignore", category=SyntaxWarning, module=re.escape(DRAFT_FILE) + "$")


def parse_draft(code: str, mode: str = "exec") -> ast.AST:
    """``ast.parse`` of generated code, without compiler warnings on stderr."""
    return ast.parse(code, filename=DRAFT_FILE, mode=mode)
