"""Exceptions that the CLI turns into one clear line (no traceback)."""

from __future__ import annotations

__all__ = ["ChecksumError", "DataError", "EmonbError", "FetchError"]


class EmonbError(Exception):
    """Base class of every error emonb raises on purpose for bad input or environment."""


class FetchError(EmonbError):
    """An artifact could not be downloaded or extracted."""


class ChecksumError(FetchError):
    """A downloaded or cached file does not match the manifest."""


class DataError(EmonbError, ValueError):
    """A data file is malformed (names the file and the problem)."""
