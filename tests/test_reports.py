from datetime import datetime

import pandas as pd
import pytest

from predictor.store import (
    accuracy_over_time,
    accuracy_table,
    confusion_table,
    latency_percentiles,
    per_class_table,
    stage_columns,
)


@pytest.fixture
def labeled():
    """Five color answers over two versions and two days; one "none of these"."""
    rows = [
        ("v1", "2026-03-01 10:00", "red", ["red", "orange"]),
        ("v1", "2026-03-01 11:00", "silver", ["gray", "silver"]),
        ("v1", "2026-03-02 09:00", None, ["black", "white"]),
        ("v2", "2026-03-02 10:00", "silver", ["silver", "gray"]),
        ("v2", "2026-03-02 11:00", "rose gold", ["pink", "gold"]),
    ]
    return pd.DataFrame([{"model": "color", "version": v, "created_at": pd.Timestamp(t),
                          "truth": truth, "ranked": ranked} for v, t, truth, ranked in rows])


def test_accuracy_table_per_version_counts_none_of_these_as_a_miss(labeled):
    table = accuracy_table(labeled).set_index("version")
    assert table.loc["v1", "n"] == 3
    assert table.loc["v1", "top1"] == pytest.approx(1 / 3)
    assert table.loc["v1", "top5"] == pytest.approx(2 / 3)
    assert table.loc["v2", "outside_top5"] == pytest.approx(1 / 2)


def test_per_class_table_puts_the_weakest_first(labeled):
    table = per_class_table(labeled)
    assert table["label"].tolist()[:2] == ["none of these", "rose gold"]
    assert table.set_index("label").loc["silver", "top1"] == pytest.approx(0.5)


def test_confusion_table_counts_truth_against_top1(labeled):
    pairs = {(r.truth, r.predicted): r.count for r in confusion_table(labeled).itertuples()}
    assert pairs[("silver", "gray")] == 1 and pairs[("silver", "silver")] == 1
    assert pairs[("none of these", "black")] == 1


def test_accuracy_over_time_groups_by_day_and_version(labeled):
    days = accuracy_over_time(labeled, "D")
    assert list(zip(days["period"].dt.day, days["version"], days["n"], strict=True)) == [
        (1, "v1", 2), (2, "v1", 1), (2, "v2", 2)]
    assert days["top1"].tolist() == pytest.approx([0.5, 0.0, 0.5])


@pytest.fixture
def timings():
    ms = list(range(1, 101))
    return pd.DataFrame({
        "created_at": [datetime(2026, 3, 1, 10 + i // 50) for i in range(100)],
        "status": ["ok"] * 99 + ["failed"],
        "parallel": [i % 2 for i in range(100)],
        "decode": [0.5] * 100, "model:color": ms, "total": [m + 1 for m in ms],
    })


def test_latency_percentiles_skip_failures_and_split_by_mode(timings):
    overall = latency_percentiles(timings).set_index("stage")
    assert overall.loc["model:color", "n"] == 99  # the failed one is left out
    assert overall.loc["model:color", "p50"] == pytest.approx(50)
    assert overall.loc["total", "p99"] == pytest.approx(99.02)  # 2..100 ms, linear interpolation
    modes = latency_percentiles(timings, by=["mode"]).set_index(["stage", "mode"])
    assert modes.loc[("model:color", "parallel"), "n"] == 49
    assert modes.loc[("model:color", "series"), "p50"] == pytest.approx(50)  # 1, 3, ..., 99


def test_latency_percentiles_per_hour(timings):
    hourly = latency_percentiles(timings, freq="h")
    total = hourly[hourly["stage"] == "total"]
    assert total["period"].dt.hour.tolist() == [10, 11] and total["n"].tolist() == [50, 49]


def test_stage_columns_in_pipeline_order(timings):
    assert stage_columns(timings) == ["decode", "model:color", "total"]
