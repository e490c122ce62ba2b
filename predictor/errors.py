"""Typed errors: every problem a user can cause has a name and a one-line message."""

from __future__ import annotations


class PinpointError(Exception):
    """Base class for every error Pinpoint reports to a user."""


class ImageRejected(PinpointError):
    """The image cannot be used: missing, empty, too big, corrupt or of a refused format."""


class ImageNotFound(ImageRejected):
    """The image path does not exist or is not a regular file."""


class InvalidPoint(PinpointError):
    """The point is not a pair of finite numbers."""


class PointOutsideImage(InvalidPoint):
    """The point lies outside the image."""


class ManifestError(PinpointError):
    """The model manifest is missing, malformed or names something that does not exist."""


class ModelLoadError(PinpointError):
    """A model file could not be loaded or does not match its labels."""


class DecodeBusy(PinpointError):
    """Too many large images are being decoded at once; retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after
