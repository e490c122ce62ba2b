"""Pinpoint's core: check an image, crop around a point, ask every model which labels fit.

Nothing here imports Streamlit or a web framework; TensorFlow loads only with the models.
"""

from .crop import Box, check_point, crop_box, crop_pixels
from .errors import (
    ImageNotFound,
    ImageRejected,
    InvalidPoint,
    ManifestError,
    ModelLoadError,
    PinpointError,
    PointOutsideImage,
)
from .images import ACCEPTED_FORMATS, DecodedImage, ImageLimits, decode_image
from .manifest import ModelSpec, load_manifest, manifest_path, read_labels
from .predict import LabelScore, Prediction, Predictor

__all__ = [
    "ACCEPTED_FORMATS",
    "Box",
    "DecodedImage",
    "ImageLimits",
    "ImageNotFound",
    "ImageRejected",
    "InvalidPoint",
    "LabelScore",
    "ManifestError",
    "ModelLoadError",
    "ModelSpec",
    "PinpointError",
    "PointOutsideImage",
    "Prediction",
    "Predictor",
    "check_point",
    "crop_box",
    "crop_pixels",
    "decode_image",
    "load_manifest",
    "manifest_path",
    "read_labels",
]
