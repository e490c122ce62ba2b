from datetime import datetime, timedelta

import pandas as pd
import pytest

from predictor.store import agreement_table, pair_agreement, same_points

T0 = datetime(2026, 1, 1, 9)


def _labeled(rows):
    """rows: (tester, model, truth, sha, x, y); each a prediction of its own, in order."""
    return pd.DataFrame([
        {"prediction_id": i, "created_at": T0 + timedelta(minutes=i),
         "labeled_at": T0 + timedelta(minutes=i), "tester": tester, "model": model,
         "truth": truth, "image_sha256": sha, "point_x": x, "point_y": y}
        for i, (tester, model, truth, sha, x, y) in enumerate(rows)])


def test_points_within_two_pixels_of_the_same_image_are_the_same_point():
    frame = _labeled([("ann", "color", "red", "img1", 10.0, 10.0),
                      ("bob", "color", "red", "img1", 11.5, 11.0),   # 1.8 px away: same
                      ("cy", "color", "red", "img1", 13.0, 10.0),    # 3 px away: another
                      ("dee", "color", "red", "img2", 10.0, 10.0)])  # another image
    ids = same_points(frame).tolist()
    assert ids[0] == ids[1] and len(set(ids)) == 3


def test_agreement_counts_only_points_two_testers_labeled():
    frame = _labeled([
        ("ann", "color", "red", "a", 5, 5), ("bob", "color", "red", "a", 5, 5),      # agree
        ("ann", "color", "red", "b", 5, 5), ("bob", "color", "blue", "b", 6, 6),     # disagree
        ("ann", "color", None, "c", 5, 5), ("bob", "color", None, "c", 5, 5),        # agree
        ("ann", "color", "blue", "d", 5, 5),                                         # alone
        ("ann", "theme", "Music", "a", 5, 5)])
    table = agreement_table(frame)
    assert table["model"].tolist() == ["color"]  # theme: one tester only
    row = table.iloc[0]
    assert (row["points"], row["pairs"]) == (3, 3)
    assert row["all_agree"] == pytest.approx(2 / 3) and row["pairwise"] == pytest.approx(2 / 3)
    # answers: red 3, blue 1, none 2 of 6 -> chance (9 + 1 + 4) / 36
    chance = 14 / 36
    assert row["kappa"] == pytest.approx((2 / 3 - chance) / (1 - chance))


def test_three_testers_on_one_point_give_three_pairs_and_a_testers_latest_label_counts():
    frame = _labeled([("ann", "color", "blue", "a", 5, 5), ("ann", "color", "red", "a", 5, 5),
                      ("bob", "color", "red", "a", 5, 5), ("cy", "color", "green", "a", 5, 5)])
    row = agreement_table(frame).iloc[0]
    assert (row["points"], row["pairs"], row["all_agree"]) == (1, 3, 0.0)
    assert row["pairwise"] == pytest.approx(1 / 3)


def test_kappa_is_undefined_when_every_answer_is_the_same_label():
    frame = _labeled([("ann", "color", "red", "a", 5, 5), ("bob", "color", "red", "a", 5, 5)])
    row = agreement_table(frame).iloc[0]
    assert row["pairwise"] == 1.0 and pd.isna(row["kappa"])


def test_pair_agreement_gives_cohens_kappa_per_pair_of_testers():
    frame = _labeled([
        ("ann", "color", "red", "a", 5, 5), ("bob", "color", "red", "a", 5, 5),
        ("ann", "color", "blue", "b", 5, 5), ("bob", "color", "blue", "b", 5, 5),
        ("ann", "color", "red", "c", 5, 5), ("bob", "color", "blue", "c", 5, 5),
        ("ann", "color", "red", "d", 5, 5), ("cy", "color", "red", "d", 5, 5)])
    pairs = pair_agreement(frame).set_index(["tester_a", "tester_b"])
    assert sorted(pairs.index) == [("ann", "bob"), ("ann", "cy")]
    ann_bob = pairs.loc[("ann", "bob")]
    assert ann_bob["points"] == 3 and ann_bob["agree"] == pytest.approx(2 / 3)
    # ann: red 2, blue 1; bob: red 1, blue 2 -> chance (2*1 + 1*2) / 9
    assert ann_bob["kappa"] == pytest.approx((2 / 3 - 4 / 9) / (1 - 4 / 9))
    assert pd.isna(pairs.loc[("ann", "cy")]["kappa"])


def test_no_labels_give_empty_tables():
    assert agreement_table(_labeled([])).empty and pair_agreement(_labeled([])).empty
