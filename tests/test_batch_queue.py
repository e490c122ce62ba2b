import io

import pytest
from PIL import Image

from ui.batch_queue import COLUMNS, PAD, THUMB, contact_sheet, index_at, thumbnail

CELL = THUMB + 2 * PAD


def _png(size, color=(200, 30, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(1200, 900), (900, 1200), (5, 5)])
def test_thumbnails_are_small_and_keep_the_shape(size):
    small = thumbnail(_png(size), max_pixels=50_000_000)
    assert max(small.size) <= THUMB
    assert small.getpixel((0, 0)) == (200, 30, 40)
    if size[0] > THUMB:
        assert small.size[0] / small.size[1] == pytest.approx(size[0] / size[1], rel=0.05)


@pytest.mark.parametrize("data", [b"not an image", b"GIF89a" + b"\0" * 20])
def test_an_unreadable_or_refused_file_gets_a_grey_tile(data):
    tile = thumbnail(data, max_pixels=50_000_000)
    assert tile.size == (THUMB, THUMB) and tile.getpixel((2, 2)) == (208, 211, 218)


def test_a_photo_over_the_pixel_limit_is_not_decoded_for_its_thumbnail():
    assert thumbnail(_png((300, 300)), max_pixels=1000).getpixel((2, 2)) == (208, 211, 218)


def test_the_sheet_has_rows_of_cells_and_a_click_names_the_thumbnail_under_it():
    thumbs = [Image.new("RGB", (THUMB, THUMB), (10 * i, 0, 0)) for i in range(6)]
    sheet = contact_sheet(thumbs, done={1}, current=4)
    assert sheet.size == (COLUMNS * CELL, 2 * CELL)
    shown = {"width": sheet.width / 2, "height": sheet.height / 2}  # drawn at half size
    assert index_at({**shown, "x": 1.5 * CELL / 2, "y": 0.5 * CELL / 2}, sheet.size, 6) == 1
    assert index_at({**shown, "x": 0.5 * CELL / 2, "y": 1.5 * CELL / 2}, sheet.size, 6) == 4
    assert index_at({**shown, "x": 3.5 * CELL / 2, "y": 1.5 * CELL / 2}, sheet.size, 6) is None
    assert sheet.getpixel((1, CELL + 1)) == (255, 75, 75)  # the open photo (4), framed
