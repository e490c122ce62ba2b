"""The learning loop: clicks and labels in, measured and registered new versions out.

A click is answered and stored (`recording`, with the shadow versions that answer it unseen:
`shadow`), labels come and go as files (`labels_io`), every version is measured on labeled
points (`evaluate`, beside the color `heuristic`), retrained from labeled crops
(`labeled_crops`, `retrain`, `retrain_keras`, `replay`) in the background
(`training_jobs`), compared (`compare`, `shadow_scores`), brought in (`uploads`), promoted
(`versions`) and described (`cards`). It imports the store and the serving core, never the
service or the CLI. Names load on first use.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_MODULES = {
    "recording": ("RecordedPrediction", "check_labels", "edit_label", "record_click",
                  "record_labels"),
    "labels_io": ("export_labels", "import_labels"),
    "evaluate": ("evaluate_csv", "evaluate_versions", "format_report"),
    "retrain": ("retrain",),
    "labeled_crops": ("RetrainOptions",),
    "training_jobs": ("TrainingJobs",),
    "compare": ("compare_recorded", "compare_versions", "format_comparison"),
    "shadow_scores": ("shadow_figures",),
    "uploads": ("InputSpec", "ModelFile", "add_version"),
    "versions": ("UnknownVersion", "promote", "register_candidate", "set_shadow"),
    "cards": ("ModelCard", "card_figures", "read_card"),
}
__getattr__ = lazy_names(__name__, _MODULES)

if TYPE_CHECKING:  # what __getattr__ provides, for type checkers
    from .cards import ModelCard, card_figures, read_card
    from .compare import compare_recorded, compare_versions, format_comparison
    from .evaluate import evaluate_csv, evaluate_versions, format_report
    from .labeled_crops import RetrainOptions
    from .labels_io import export_labels, import_labels
    from .recording import (
        RecordedPrediction,
        check_labels,
        edit_label,
        record_click,
        record_labels,
    )
    from .retrain import retrain
    from .shadow_scores import shadow_figures
    from .training_jobs import TrainingJobs
    from .uploads import InputSpec, ModelFile, add_version
    from .versions import UnknownVersion, promote, register_candidate, set_shadow

__all__ = [
    "InputSpec",
    "ModelCard",
    "ModelFile",
    "RecordedPrediction",
    "RetrainOptions",
    "TrainingJobs",
    "UnknownVersion",
    "add_version",
    "card_figures",
    "check_labels",
    "compare_recorded",
    "compare_versions",
    "edit_label",
    "evaluate_csv",
    "evaluate_versions",
    "export_labels",
    "format_comparison",
    "format_report",
    "import_labels",
    "promote",
    "read_card",
    "record_click",
    "record_labels",
    "register_candidate",
    "retrain",
    "set_shadow",
    "shadow_figures",
]
