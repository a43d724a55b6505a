"""What the command line writes on stderr: an error (one line, ``emonb: error: ...``) and
a note (one line, ``emonb: note: ...``, what emonb decided for the user)."""

from __future__ import annotations

import sys

__all__ = ["error", "fail", "note"]


def error(message: str) -> None:
    """One line on stderr, ``emonb: error: message`` (its whitespace folded)."""
    print(f"emonb: error: {' '.join(str(message).split())}", file=sys.stderr)


def fail(message: str, code: int = 1) -> int:
    """:func:`error`, then ``code`` (the exit status) for the caller to return."""
    error(message)
    return code


def note(message: str) -> None:
    """One line on stderr that says what emonb decided for the user (stdout may be JSON)."""
    print(f"emonb: note: {message}", file=sys.stderr)
