import numpy as np
import pytest

from predictor.learning.heuristic import PROTOTYPES, rank_colors, srgb_to_lab


def solid(rgb: tuple[int, int, int], size: int = 16) -> np.ndarray:
    return np.full((size, size, 3), rgb, dtype=np.uint8)


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [((255, 255, 255), (100, 0, 0)), ((0, 0, 0), (0, 0, 0)), ((255, 0, 0), (53.24, 80.09, 67.20))],
)
def test_srgb_to_lab_matches_published_values(rgb, lab):
    assert srgb_to_lab(np.array(rgb)) == pytest.approx(lab, abs=0.05)


@pytest.mark.parametrize(
    ("rgb", "name"),
    [((230, 10, 10), "red"), ((10, 20, 70), "navy"), ((250, 250, 250), "white"),
     ((100, 60, 10), "brown"), ((20, 150, 130), "teal")],
)
def test_a_solid_crop_is_named_by_its_nearest_color(rgb, name):
    ranked = rank_colors(solid(rgb))
    assert ranked[0] == (name, 1.0)
    assert len(ranked) == len(PROTOTYPES) and ranked[1][1] == 0.0


def test_the_majority_wins_and_the_ranking_follows_the_votes():
    pixels = solid((0, 0, 0))
    pixels[:10] = (255, 255, 255)  # 10 of 16 rows white, the rest black
    pixels[15, :4] = (230, 10, 10)  # 4 red pixels out of the black rows
    ranked = rank_colors(pixels)
    assert [name for name, _ in ranked[:3]] == ["white", "black", "red"]
    assert [share for _, share in ranked[:3]] == pytest.approx([160 / 256, 92 / 256, 4 / 256])


def test_labels_limit_the_names_that_can_be_voted_for():
    assert rank_colors(solid((10, 20, 70)))[0][0] == "navy"
    ranked = rank_colors(solid((10, 20, 70)), labels=("white", "blue", "multi-colored"))
    assert ranked == [("blue", 1.0), ("white", 0.0)]
