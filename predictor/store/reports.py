"""Dashboard figures from store DataFrames: accuracy via metrics.summarize, latency percentiles."""

from __future__ import annotations

import pandas as pd

from .accuracy import NONE_LABEL, Answer, summarize

PERCENTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}


def answers(labeled: pd.DataFrame) -> list[Answer]:
    """Turn labeled rows into metrics Answers; "none of these" is a truth no model can hit."""
    return [Answer(truth if isinstance(truth, str) else NONE_LABEL, list(ranked))
            for truth, ranked in zip(labeled["truth"], labeled["ranked"], strict=True)]


def accuracy_table(labeled: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """Return n, top-1, top-k and the share outside the top-k per model and version."""
    rows = []
    for (model, version), group in labeled.groupby(["model", "version"], sort=True):
        summary = summarize(answers(group), k=k)
        rows.append({"model": model, "version": version, "n": summary["n"],
                     "top1": summary["top1"], f"top{k}": summary[f"top{k}"],
                     f"outside_top{k}": summary[f"outside_top{k}"]})
    return pd.DataFrame(rows, columns=["model", "version", "n", "top1", f"top{k}",
                                       f"outside_top{k}"])


def per_class_table(labeled: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """Return per true label: n, top-1 and top-k accuracy, weakest top-1 first."""
    summary = summarize(answers(labeled), k=k)
    per_class: dict[str, dict] = summary["per_class"]  # type: ignore[assignment]
    rows = [{"label": label, **figures} for label, figures in per_class.items()]
    frame = pd.DataFrame(rows, columns=["label", "n", "top1", f"top{k}"])
    return frame.sort_values(["top1", "n"], ascending=[True, False], ignore_index=True)


def confusion_table(labeled: pd.DataFrame) -> pd.DataFrame:
    """Return (truth, predicted top-1, count) for every pair seen, diagonal included."""
    return pd.DataFrame(summarize(answers(labeled))["confusion"],
                        columns=["truth", "predicted", "count"])


def accuracy_over_time(labeled: pd.DataFrame, freq: str = "D", k: int = 5) -> pd.DataFrame:
    """Return top-1 and top-k per model, version and period of prediction time."""
    rows = []
    periods = labeled["created_at"].dt.to_period(freq).dt.start_time
    for (period, model, version), group in labeled.groupby(
            [periods, labeled["model"], labeled["version"]], sort=True):
        summary = summarize(answers(group), k=k)
        rows.append({"period": period, "model": model, "version": version, "n": summary["n"],
                     "top1": summary["top1"], f"top{k}": summary[f"top{k}"]})
    return pd.DataFrame(rows, columns=["period", "model", "version", "n", "top1", f"top{k}"])


def stage_columns(timings: pd.DataFrame) -> list[str]:
    """Return the timing stage columns present: decode, crop, model:*, total, and page (the
    app's run time for the click) once any click has one."""
    fixed = ["decode", "crop"]
    models = sorted(c for c in timings.columns if c.startswith("model:"))
    page = ["page"] if "page" in timings and timings["page"].notna().any() else []
    return [c for c in fixed if c in timings] + models + \
        (["total"] if "total" in timings else []) + page


def latency_long(timings: pd.DataFrame) -> pd.DataFrame:
    """Return successful predictions' stage timings as (created_at, mode, stage, ms) rows."""
    ok = timings[timings["status"] == "ok"].copy()
    ok["mode"] = ok["parallel"].map({1: "parallel", 0: "series"}).fillna("unknown")
    long = ok.melt(id_vars=["created_at", "mode"], value_vars=stage_columns(ok),
                   var_name="stage", value_name="ms")
    return long.dropna(subset=["ms"]).reset_index(drop=True)


def latency_percentiles(timings: pd.DataFrame, by: list[str] | None = None,
                        freq: str | None = None) -> pd.DataFrame:
    """Return p50/p95/p99 per stage (and per `by` columns and time period when asked)."""
    long = latency_long(timings)
    keys = ["stage"] + (by or [])
    if freq:
        long["period"] = long["created_at"].dt.to_period(freq).dt.start_time
        keys = ["period"] + keys
    grouped = long.groupby(keys, sort=True)["ms"]
    frame = pd.concat({name: grouped.quantile(q) for name, q in PERCENTILES.items()}, axis=1)
    frame["n"] = grouped.size()
    return frame.reset_index()
