"""The feedback store: predictions and labels in SQL, read back as DataFrames and figures.

`feedback` writes (SQLAlchemy), `schema` holds the tables and their upgrade steps, `queries`
reads them into pandas, `reports`, `agreement` and `accuracy` turn them into figures,
`page_times` stores the app's own run time per click. It imports the serving core only.
Names load on first use: SQLAlchemy and pandas only for what needs them.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_MODULES = {
    "feedback": ("FeedbackStore", "database_url"),
    "queries": ("StoreFilter", "export_labeled", "filter_choices", "labeled_answers",
                "label_history", "model_loads", "model_switches", "prediction_timings",
                "tester_labels"),
    "reports": ("accuracy_over_time", "accuracy_table", "confusion_table", "latency_long",
                "latency_percentiles", "per_class_table", "stage_columns"),
    "accuracy": ("NONE_LABEL", "Answer", "summarize"),
    "page_times": ("PageTimes",),
    "agreement": ("agreement_table", "pair_agreement", "same_points"),
}
__getattr__ = lazy_names(__name__, _MODULES)

if TYPE_CHECKING:  # what __getattr__ provides, for type checkers
    from .accuracy import NONE_LABEL, Answer, summarize
    from .agreement import agreement_table, pair_agreement, same_points
    from .feedback import FeedbackStore, database_url
    from .page_times import PageTimes
    from .queries import (
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
    from .reports import (
        accuracy_over_time,
        accuracy_table,
        confusion_table,
        latency_long,
        latency_percentiles,
        per_class_table,
        stage_columns,
    )

__all__ = [
    "NONE_LABEL",
    "Answer",
    "FeedbackStore",
    "PageTimes",
    "StoreFilter",
    "accuracy_over_time",
    "accuracy_table",
    "agreement_table",
    "confusion_table",
    "database_url",
    "export_labeled",
    "filter_choices",
    "label_history",
    "labeled_answers",
    "latency_long",
    "latency_percentiles",
    "model_loads",
    "model_switches",
    "pair_agreement",
    "per_class_table",
    "prediction_timings",
    "same_points",
    "stage_columns",
    "summarize",
    "tester_labels",
]
