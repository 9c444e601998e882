"""Exception types the engine raises for bad input.

Every front end (CLI, GUI) catches :class:`ClipDrawError` and shows its message as
one line: the messages are written for the artist, not for a developer, and say what
to do next.
"""

from __future__ import annotations


class ClipDrawError(Exception):
    """Base class for errors caused by input or environment, not by a bug."""


class ConfigError(ClipDrawError, ValueError):
    """A setting is out of range or inconsistent (empty prompt, absurd stroke count...)."""


class WeightsError(ClipDrawError):
    """CLIP weights are missing, unreadable, or do not match the model."""


class ModelNotFoundError(ClipDrawError):
    """The CLIP model name is not one open_clip knows."""


class NumericalError(ClipDrawError):
    """The optimisation produced NaN/Inf and could not recover."""


class FileFormatError(ClipDrawError, ValueError):
    """A file (SVG, project, image) is malformed, hostile or of the wrong kind."""


class OutputError(ClipDrawError, OSError):
    """An output file could not be written (unwritable folder, full disk...)."""


class Cancelled(ClipDrawError):
    """A long operation (e.g. a video export) was cancelled by the user; nothing was written."""


class RemoteError(ClipDrawError):
    """A compute server cannot be reached, refused the job, or the connection broke."""


class AuthError(RemoteError):
    """The compute server refused the token (missing or wrong)."""
