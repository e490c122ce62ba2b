"""Pinpoint's core: check an image, crop around a point, ask every model which labels fit.

Nothing here imports Streamlit or a web framework; TensorFlow loads only with the models.
"""

from typing import TYPE_CHECKING

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

# The store, reports, settings and rate limiter need SQLAlchemy, pandas, pydantic or limits:
# loaded on first use only, so `import predictor` stays quick for the CLI.
_LAZY = {
    "store.feedback": ("FeedbackStore", "database_url"),
    "store.queries": ("StoreFilter", "export_labeled", "filter_choices", "labeled_answers",
                      "label_history", "model_loads", "model_switches", "prediction_timings",
                      "tester_labels"),
    "store.reports": ("NONE_LABEL", "accuracy_over_time", "accuracy_table", "confusion_table",
                "latency_long", "latency_percentiles", "per_class_table", "stage_columns"),
    "learning.recording": ("RecordedPrediction", "check_labels", "edit_label", "record_click",
                  "record_labels"),
    "store.page_times": ("PageTimes",),
    "store.agreement": ("agreement_table", "pair_agreement", "same_points"),
    "learning.cards": ("ModelCard", "card_figures", "read_card"),
    "service.client": ("PinpointClient",),
    "ratelimit": ("RateLimiter",),
    "config": ("Config", "load_config"),
    "service.remote": ("label_remote", "models_remote", "predict_remote"),
    "learning.uploads": ("InputSpec", "ModelFile", "add_version"),
    "learning.shadow_scores": ("shadow_figures",),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}


if TYPE_CHECKING:  # what __getattr__ provides, for type checkers
    from .config import Config, load_config
    from .learning.cards import ModelCard, card_figures, read_card
    from .learning.recording import (
        RecordedPrediction,
        check_labels,
        edit_label,
        record_click,
        record_labels,
    )
    from .learning.shadow_scores import shadow_figures
    from .learning.uploads import InputSpec, ModelFile, add_version
    from .ratelimit import RateLimiter
    from .service.client import PinpointClient
    from .service.remote import label_remote, models_remote, predict_remote
    from .store.agreement import agreement_table, pair_agreement, same_points
    from .store.feedback import FeedbackStore, database_url
    from .store.page_times import PageTimes
    from .store.queries import (
        StoreFilter,
        export_labeled,
        filter_choices,
        label_history,
        labeled_answers,
        model_loads,
        model_switches,
        prediction_timings,
        tester_labels,
    )
    from .store.reports import (
        NONE_LABEL,
        accuracy_over_time,
        accuracy_table,
        confusion_table,
        latency_long,
        latency_percentiles,
        per_class_table,
        stage_columns,
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
    "VersionRejected",
    # loaded on first use (see _LAZY)
    "Config",
    "FeedbackStore",
    "InputSpec",
    "ModelFile",
    "RateLimiter",
    "ModelCard",
    "NONE_LABEL",
    "PageTimes",
    "PinpointClient",
    "RecordedPrediction",
    "StoreFilter",
    "accuracy_over_time",
    "add_version",
    "agreement_table",
    "accuracy_table",
    "card_figures",
    "check_labels",
    "confusion_table",
    "database_url",
    "edit_label",
    "export_labeled",
    "filter_choices",
    "label_history",
    "label_remote",
    "labeled_answers",
    "latency_long",
    "latency_percentiles",
    "load_config",
    "model_loads",
    "models_remote",
    "model_switches",
    "pair_agreement",
    "per_class_table",
    "predict_remote",
    "prediction_timings",
    "read_card",
    "same_points",
    "record_click",
    "record_labels",
    "shadow_figures",
    "stage_columns",
    "tester_labels",
]
