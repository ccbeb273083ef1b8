"""Errors of the knowledge store: all caller mistakes (ConfigError), so the API answers 4xx."""

from __future__ import annotations

from msagent.errors import ConfigError


class InvalidFileError(ConfigError):
    """A bad file name (path parts, hidden, empty) or unreadable content."""


class UnsupportedFileTypeError(ConfigError):
    pass


class FileTooLargeError(ConfigError):
    pass


class KnowledgeNotFoundError(ConfigError):
    """No such uploaded file for this uuid."""
