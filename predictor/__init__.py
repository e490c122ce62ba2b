"""Pinpoint's core: check an image, crop around a point, ask every model which labels fit.

Nothing here imports Streamlit or a web framework; TensorFlow loads only with the models.
"""

from typing import TYPE_CHECKING

from .crop import Box, check_point, crop_box, crop_pixels
from .display import (
    crop_image,
    decode_for_display,
    display_copy,
    display_size,
    draw_overlay,
    png_bytes,
    to_original,
)
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
from .manifest import ModelSpec, load_manifest, load_versions, manifest_path, read_labels
from .paths import image_root, list_images, resolve_image
from .predict import LabelScore, Prediction, Predictor
from .session import RateLimited, RateLimiter, is_new_click, progress_text

# The feedback store and its reports need SQLAlchemy and pandas: loaded on first use only,
# so `import predictor` stays quick for the CLI.
_LAZY = {
    "store": ("FeedbackStore", "StoreBusy", "StoreError", "database_url"),
    "store_queries": ("StoreFilter", "export_labeled", "filter_choices", "labeled_answers",
                      "model_loads", "prediction_timings"),
    "reports": ("NONE_LABEL", "accuracy_over_time", "accuracy_table", "confusion_table",
                "latency_long", "latency_percentiles", "per_class_table", "stage_columns"),
    "feedback": ("RecordedPrediction", "predict_and_record"),
    "cards": ("ModelCard", "card_figures", "read_card"),
    "client": ("PinpointClient",),
    "remote": ("ServiceDegraded", "label_remote", "predict_remote"),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}


if TYPE_CHECKING:  # what __getattr__ provides, for type checkers
    from .cards import ModelCard, card_figures, read_card
    from .client import PinpointClient
    from .feedback import RecordedPrediction, predict_and_record
    from .remote import ServiceDegraded, label_remote, predict_remote
    from .reports import (
        NONE_LABEL,
        accuracy_over_time,
        accuracy_table,
        confusion_table,
        latency_long,
        latency_percentiles,
        per_class_table,
        stage_columns,
    )
    from .store import FeedbackStore, StoreBusy, StoreError, database_url
    from .store_queries import (
        StoreFilter,
        export_labeled,
        filter_choices,
        labeled_answers,
        model_loads,
        prediction_timings,
    )


def __getattr__(name: str) -> object:
    if name in _LAZY_NAMES:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'predictor' has no attribute {name!r}")

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
    "load_versions",
    "manifest_path",
    "read_labels",
    # display, paths, session
    "RateLimited",
    "RateLimiter",
    "crop_image",
    "decode_for_display",
    "display_copy",
    "display_size",
    "draw_overlay",
    "image_root",
    "is_new_click",
    "list_images",
    "png_bytes",
    "progress_text",
    "resolve_image",
    "to_original",
    # loaded on first use (see _LAZY)
    "FeedbackStore",
    "ModelCard",
    "NONE_LABEL",
    "PinpointClient",
    "RecordedPrediction",
    "ServiceDegraded",
    "StoreBusy",
    "StoreError",
    "StoreFilter",
    "accuracy_over_time",
    "accuracy_table",
    "card_figures",
    "confusion_table",
    "database_url",
    "export_labeled",
    "filter_choices",
    "label_remote",
    "labeled_answers",
    "latency_long",
    "latency_percentiles",
    "model_loads",
    "per_class_table",
    "predict_and_record",
    "predict_remote",
    "prediction_timings",
    "read_card",
    "stage_columns",
]
