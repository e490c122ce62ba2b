import json
from pathlib import Path

from predictor import ModelSpec
from predictor.learning import card_figures, read_card


def _spec(folder: Path) -> ModelSpec:
    return ModelSpec(name="color", path=folder / "model.keras", format="keras", labels=("a", "b"),
                     labels_path=folder / "labels.txt", version="v1", input_size=32, scale=1 / 255,
                     offset=0.0, crop_fraction=0.2)


def test_card_is_read_from_beside_the_model(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"validation": {"n": 40, "top1": 0.75,
                                                                      "top5": 0.95}}))
    (tmp_path / "MODEL_CARD.md").write_text("# Model card: color")
    card = read_card(_spec(tmp_path))
    assert card.markdown == "# Model card: color"
    assert card_figures(card) == {"validation n": 40, "validation top-1": 0.75,
                                  "validation top-5": 0.95}


def test_missing_or_broken_card_gives_empty_figures(tmp_path):
    (tmp_path / "metrics.json").write_text("{not json")
    card = read_card(_spec(tmp_path))
    assert (card.metrics, card.markdown) == (None, None)
    assert set(card_figures(card).values()) == {None}
