"""Pinpoint's core: check an image, crop around a point, ask every model which labels fit.

Nothing here imports Streamlit or a web framework; TensorFlow loads only with the models.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from .crop import Box, check_point, crop_box, crop_image, crop_pixels, png_bytes
from .errors import (
    DecodeBusy,
    ImageNotFound,
    ImageRejected,
    InvalidPoint,
    LabeledFileError,
    ManifestError,
    ModelLoadError,
    NoModels,
    NotYourLabel,
    PinpointError,
    PointOutsideImage,
    RateLimited,
    ReloadBusy,
    ServiceDegraded,
    ServiceError,
    SettingsError,
    StoreBusy,
    StoreError,
    UnknownLabel,
    UnknownPrediction,
    UnsafeModel,
    VersionRejected,
)
from .facts import ModelFacts, ServedModels
from .image_limits import ImageLimits
from .images import ACCEPTED_FORMATS, DecodedImage, decode_image
from .live import LivePredictor
from .manifest import ModelSpec, load_manifest, load_versions, manifest_path, read_labels
from .paths import image_root, list_images, read_image, resolve_image
from .predict import Predictor
from .results import LabelScore, Prediction

# The settings and the rate limiter need pydantic or limits: loaded on first use only, so
# `import predictor` stays quick. The store, the learning loop, the service and the command
# line are rooms of their own: predictor.store, predictor.learning, predictor.service,
# predictor.cli (each names its public face in its __init__).
_MODULES = {
    "config": ("Config", "load_config"),
    "ratelimit": ("RateLimiter",),
}
__getattr__ = lazy_names(__name__, _MODULES)

if TYPE_CHECKING:  # what __getattr__ provides, for type checkers
    from .config import Config, load_config
    from .ratelimit import RateLimiter

__all__ = [
    "ACCEPTED_FORMATS",
    "Box",
    "DecodedImage",
    "ImageLimits",
    "LabelScore",
    "LivePredictor",
    "ModelFacts",
    "ModelSpec",
    "Prediction",
    "Predictor",
    "ServedModels",
    "check_point",
    "crop_box",
    "crop_image",
    "crop_pixels",
    "decode_image",
    "image_root",
    "list_images",
    "load_manifest",
    "load_versions",
    "manifest_path",
    "png_bytes",
    "read_image",
    "read_labels",
    "resolve_image",
    # errors (all in predictor/errors.py)
    "DecodeBusy",
    "ImageNotFound",
    "ImageRejected",
    "InvalidPoint",
    "LabeledFileError",
    "ManifestError",
    "ModelLoadError",
    "NoModels",
    "NotYourLabel",
    "PinpointError",
    "PointOutsideImage",
    "RateLimited",
    "ReloadBusy",
    "ServiceDegraded",
    "ServiceError",
    "SettingsError",
    "StoreBusy",
    "StoreError",
    "UnknownLabel",
    "UnknownPrediction",
    "UnsafeModel",
    "VersionRejected",
    # loaded on first use (see _MODULES)
    "Config",
    "RateLimiter",
    "load_config",
]
