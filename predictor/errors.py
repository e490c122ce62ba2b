"""Typed errors: every problem a user can cause has a name and a one-line message.

All of the core's user-facing errors live here, so the CLI, the app and the service's
status table import one module. The service adds its own HTTP ones in service/errors.py.
"""

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


class UnsafeModel(ModelLoadError):
    """The model holds an operation Pinpoint never runs (file, network, process or code)."""


class VersionRejected(PinpointError):
    """An uploaded model version was refused: bad format, labels, output size or scores."""


class NoModels(PinpointError):
    """No models are loaded yet (or loading them failed)."""


class ReloadBusy(PinpointError):
    """Another reload is still loading models."""


class SettingsError(PinpointError):
    """A setting in the environment is malformed; the message names the variable."""


class LabeledFileError(PinpointError):
    """The labeled CSV is missing, unreadable, or lacks the image, x and y columns."""


class StoreError(PinpointError):
    """The feedback database could not do what was asked."""


class StoreBusy(StoreError):
    """The feedback database stayed locked by another writer past the timeout; retry."""


class UnknownPrediction(PinpointError):
    """No prediction has this id."""


class NotYourLabel(PinpointError):
    """The label to edit does not exist or was saved by another tester."""


class UnknownLabel(PinpointError):
    """A label names a model the prediction has no answer from, or is not one of its labels."""


class RateLimited(PinpointError):
    """This tester asked for more predictions than the limit allows; wait and retry."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class ServiceError(PinpointError):
    """The Pinpoint service could not answer (strict mode only); `status` is None off the wire."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ServiceDegraded(PinpointError):
    """The prediction service gave no answer; the reason says why."""


class DecodeBusy(PinpointError):
    """Too many large images are being decoded at once; retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after
