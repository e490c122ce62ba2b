import pandas as pd
import pytest

from ui.dashboard import confusion_heatmap, percent_bars, time_step


def test_per_class_bars_say_counts_and_percentages_even_at_zero():
    frame = pd.DataFrame({"label": ["navy", "red"], "n": [3, 4], "top1": [0.0, 0.75]})
    chart = percent_bars(frame, "top1", "label", "Top-1").to_dict()
    texts = [row["text"] for row in next(iter(chart["datasets"].values()))]
    assert texts == ["0 of 3 · 0%", "3 of 4 · 75%"]


def test_confusion_matrix_is_square_with_one_label_order_on_both_axes():
    frame = pd.DataFrame({"truth": ["red", "a very long label name"],
                          "predicted": ["blue", "red"], "count": [1, 2]})
    chart = confusion_heatmap(frame, "Confusion").to_dict()
    order = ["a very long label name", "blue", "red"]
    x, y = chart["layer"][0]["encoding"]["x"], chart["layer"][0]["encoding"]["y"]
    assert x["scale"]["domain"] == y["scale"]["domain"] == order
    assert x["axis"]["labelLimit"] == y["axis"]["labelLimit"] == 0  # long labels not cut
    assert chart["width"] == chart["height"]


@pytest.mark.parametrize("hours, expected", [(0, "hour"), (40, "hour"), (24 * 20, "day"),
                                             (24 * 100, "week")])
def test_over_time_step_follows_the_amount_of_data(hours, expected):
    start = pd.Timestamp("2026-12-01 09:00")
    created = pd.Series([start, start + pd.Timedelta(hours=hours)])
    assert time_step(created)[1] == expected


def test_none_of_these_comes_last_in_the_confusion_matrix():
    frame = pd.DataFrame({"truth": ["none of these", "red"], "predicted": ["blue", "red"],
                          "count": [1, 2]})
    x = confusion_heatmap(frame, "Confusion").to_dict()["layer"][0]["encoding"]["x"]
    assert x["scale"]["domain"] == ["blue", "red", "none of these"]
