"""Exceptions that the CLI turns into one clear line (no traceback)."""

from __future__ import annotations

__all__ = ["ChecksumError", "DataError", "EmonbError", "FetchError", "check_count"]


class EmonbError(Exception):
    """Base class of every error emonb raises on purpose for bad input or environment."""


class FetchError(EmonbError):
    """An artifact could not be downloaded or extracted."""


class ChecksumError(FetchError):
    """A downloaded or cached file does not match the manifest."""


class DataError(EmonbError, ValueError):
    """A data file is malformed (names the file and the problem)."""


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """A count setting (samples, steps, channels, runs) as an int >= ``minimum``; an
    :class:`EmonbError` naming it otherwise (a bool is not a count)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise EmonbError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return int(value)
