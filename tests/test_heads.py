"""The head builds' choices: the detector's class votes (coco_themes) and cross-validation."""

import dataclasses

import numpy as np

from training import coco_themes, heads
from training.centernet import COCO
from training.head_recipes import HEAD_RECIPES


def test_the_class_table_names_real_classes_and_labels_once_each():
    named = [name for classes in coco_themes.THEMES.values() for name in classes]
    assert len(named) == len(set(named)) and set(named) <= set(COCO)
    labels = HEAD_RECIPES["theme"].labels
    assert set(coco_themes.THEMES) <= set(labels)
    matrix = coco_themes.prior(labels)
    assert matrix.shape == (80, len(labels)) and matrix.sum(axis=1).max() == 1
    assert matrix[COCO.index("pizza"), labels.index("Food & Drink")] == 1
    assert matrix[COCO.index("person")].sum() == 0  # says nothing about a theme


def test_the_votes_teach_a_theme_the_training_folds_never_show():
    # Every Food & Drink crop is on one photo: when that photo is the held-out fold, no
    # training row shows the theme, and only the detector's votes (banana found) can answer it.
    recipe = dataclasses.replace(HEAD_RECIPES["theme"], l2_folds=3, prior_weights=(0.0, 8.0))
    labels = recipe.labels
    rng = np.random.default_rng(0)
    rows, ys, owners = [], [], []
    for photo, (coco, theme) in enumerate([("dog", "Animals & Pets"), ("car", "Cars & Vehicles")]
                                          * 3 + [("banana", "Food & Drink")]):
        for _ in range(20):
            features = rng.uniform(0, 0.1, 84).astype(np.float32)
            features[COCO.index(coco)] = rng.uniform(0.6, 1.0)
            rows.append(features)
            ys.append(labels.index(theme))
            owners.append(f"photo{photo}.jpg")
    f, y, w = np.stack(rows), np.array(ys), np.ones(len(ys), np.float32)
    prior = heads._prior(recipe, f.shape[1])
    tried = heads.cross_validated(f, y, w, owners, recipe, 1e-2, prior)
    food = 20 / len(y)  # the food photo's share of the scored crops
    assert tried[0.0]["top1"] <= 1 - food + 0.02  # without votes, never Food & Drink
    assert tried[8.0]["top1"] >= tried[0.0]["top1"] + food - 0.02


def test_lighter_rows_train_but_are_not_scored():
    # A point's other honest names (weight < 1) must not count as misses of its label.
    recipe = dataclasses.replace(HEAD_RECIPES["theme"], l2_folds=2)
    labels = recipe.labels
    rng = np.random.default_rng(1)
    f = rng.normal(size=(40, 6)).astype(np.float32)
    y = np.where(f[:, 0] > 0, labels.index("Travel"), labels.index("Gardening"))
    f = np.concatenate([f, f])  # each point again, under another name, at a lower weight
    y = np.concatenate([y, np.full(40, labels.index("Architecture"))])
    w = np.concatenate([np.ones(40), np.full(40, 0.3)]).astype(np.float32)
    owners = [f"p{i % 8}.jpg" for i in range(40)] * 2
    scored = heads.cross_validated(f, y, w, owners, recipe, 1e-2)[0.0]
    assert scored["n"] == 40


def test_the_class_balance_sets_how_readily_a_rare_label_is_answered():
    # Two labels whose points overlap, one shown nine times as often: weighing every label
    # alike (balance 1) answers the rare one about half the time; weighing every point alike
    # (balance 0) answers it as seldom as the points show it.
    rng = np.random.default_rng(2)
    f = np.concatenate([rng.normal(0.0, 1.0, (900, 2)), rng.normal(0.5, 1.0, (100, 2))])
    y = np.array([0] * 900 + [1] * 100)
    answered = {}
    for balance in (1.0, 0.0):
        w, b = heads.fit_head(f.astype(np.float32), y, 2, 1e-3, seed=0, epochs=20,
                              balance=balance, batch=256)
        answered[balance] = float(np.mean(np.argmax(f @ w + b, axis=1) == 1))
    assert answered[1.0] > 0.3 and answered[0.0] < 0.05


def test_a_recipe_reads_the_point_files_added_after_a_version(tmp_path, monkeypatch):
    from training import head_data, photo_data

    photo = sorted(photo_data.pool())[0]
    extra = tmp_path / "more.csv"
    extra.write_text(f"image,x,y,color,color_also\ntrain/{photo.name},10,12,teal,blue\n",
                     encoding="utf-8")
    monkeypatch.setattr(photo_data, "PHOTOS", tmp_path)  # the photo itself: only its path
    recipe = dataclasses.replace(HEAD_RECIPES["color"], more_points=("more.csv",))
    monkeypatch.setattr(photo_data, "pool", lambda first=0: [tmp_path / "train" / photo.name])
    points = head_data.labeled_points(recipe)
    assert [(p.photo.name, p.x, p.y, p.label, p.also) for p in points] == [
        (photo.name, 10.0, 12.0, "teal", ("blue",))]
    without = dataclasses.replace(recipe, more_points=())
    assert head_data.labeled_points(without) == []
