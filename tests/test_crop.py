import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from predictor import Box, InvalidPoint, PointOutsideImage, check_point, crop_box, crop_pixels
from predictor.images import decode_image

SIZE = (400, 300)  # shorter side 300: fraction 0.2 gives a 60 px square


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((200, 150), Box(170, 120, 230, 180)),  # centre: centred on the point
        ((0, 0), Box(0, 0, 60, 60)),  # top-left corner
        ((400, 0), Box(340, 0, 400, 60)),  # top-right corner
        ((0, 300), Box(0, 240, 60, 300)),  # bottom-left corner
        ((400, 300), Box(340, 240, 400, 300)),  # bottom-right corner
        ((10, 150), Box(0, 120, 60, 180)),  # near the left edge: shifted right
        ((395, 150), Box(340, 120, 400, 180)),  # near the right edge: shifted left
        ((200, 5), Box(170, 0, 230, 60)),  # near the top edge
        ((200, 299), Box(170, 240, 230, 300)),  # near the bottom edge
    ],
)
def test_crop_box_is_a_square_shifted_inside_the_image(point, expected):
    assert crop_box(SIZE, point, 0.2) == expected


def test_crop_side_is_a_fraction_of_the_shorter_side():
    assert crop_box((1000, 4000), (500, 2000), 0.15).side == 150
    assert crop_box((4000, 1000), (2000, 500), 0.5).side == 500


def test_full_fraction_covers_the_shorter_side_and_tiny_images_still_crop():
    assert crop_box((50, 30), (49, 1), 1.0) == Box(20, 0, 50, 30)
    assert crop_box((1, 1), (0.5, 0.5), 0.15) == Box(0, 0, 1, 1)


@given(
    width=st.integers(1, 5000),
    height=st.integers(1, 5000),
    fx=st.floats(0, 1),
    fy=st.floats(0, 1),
    fraction=st.floats(0.01, 1.0),
)
def test_any_valid_point_gives_a_square_inside_the_image(width, height, fx, fy, fraction):
    point = check_point(fx * width, fy * height, (width, height))
    box = crop_box((width, height), point, fraction)
    assert box.right - box.left == box.bottom - box.top >= 1
    assert box.left >= 0 and box.right <= width and box.top >= 0 and box.bottom <= height
    # The point is inside the box unless the box had to shift away from an edge.
    assert box.left - 1 <= point[0] <= box.right + 1 or box.side == min(width, height)


@pytest.mark.parametrize(
    ("x", "y", "error"),
    [
        (-1, 10, PointOutsideImage),
        (10, -0.001, PointOutsideImage),
        (400.5, 10, PointOutsideImage),
        (10, 301, PointOutsideImage),
        (1e308, 10, PointOutsideImage),
        (math.nan, 10, InvalidPoint),
        (10, math.inf, InvalidPoint),
        (-math.inf, 10, InvalidPoint),
        (None, 10, InvalidPoint),
        ("ten", 10, InvalidPoint),
        (True, 10, InvalidPoint),
        pytest.param(10**400, 10, InvalidPoint, id="huge-int-x"),
        pytest.param(10, -(10**400), InvalidPoint, id="huge-int-y"),
        (10, [1], InvalidPoint),
    ],
)
def test_bad_points_are_clear_errors(x, y, error):
    with pytest.raises(error):
        check_point(x, y, SIZE)


def test_points_on_edges_and_numeric_strings_are_accepted():
    assert check_point(0, 0, SIZE) == (0.0, 0.0)
    assert check_point(400, 300, SIZE) == (400.0, 300.0)
    assert check_point("12.5", " 7 ", SIZE) == (12.5, 7.0)


@given(x=st.floats(allow_nan=True, allow_infinity=True), y=st.floats(allow_nan=True))
def test_check_point_accepts_exactly_the_finite_points_on_the_image(x, y):
    inside = math.isfinite(x) and math.isfinite(y) and 0 <= x <= 400 and 0 <= y <= 300
    try:
        assert check_point(x, y, SIZE) == (x, y) and inside
    except InvalidPoint:
        assert not inside


def test_crop_pixels_reads_the_box_at_the_decoded_scale():
    full = Image.new("RGB", (400, 300), (0, 0, 255))
    full.paste((255, 0, 0), (100, 100, 160, 160))
    half = full.resize((200, 150), Image.Resampling.NEAREST)
    box = Box(100, 100, 160, 160)
    for image, scale in ((full, 1.0), (half, 0.5)):
        pixels = crop_pixels(image, box, scale, 32)
        assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8
        assert pixels[2:-2, 2:-2, 0].min() > 200 and pixels[2:-2, 2:-2, 2].max() < 50


@pytest.mark.parametrize("size", [(1365, 1074), (1074, 1365), (1601, 999)])
def test_a_corner_crop_of_an_odd_sized_jpeg_decoded_at_a_draft_scale_works(size, tmp_path):
    path = tmp_path / "odd.jpg"
    Image.new("RGB", size, (200, 30, 30)).save(path, quality=90)
    decoded = decode_image(path, crop_needs=[(0.5, 80)])
    assert decoded.scale < 1  # the JPEG was decoded at a reduced scale
    box = crop_box(decoded.size, (size[0], size[1]), 0.5)
    pixels = crop_pixels(decoded.image, box, decoded.scale, 80)
    assert pixels.shape == (80, 80, 3) and pixels[..., 0].min() > 150
