import io

import pytest
from PIL import Image

from predictor import Box, crop_image, decode_image, png_bytes
from ui.display import (
    bordered,
    decode_for_display,
    display_copy,
    display_size,
    draw_overlay,
    is_new_click,
    progress_text,
    to_display,
    to_original,
    zoom_view,
)


def _jpeg(size, color=(10, 200, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("size, max_side, expected", [
    ((4000, 3000), 800, (800, 600)),
    ((3000, 4000), 800, (600, 800)),
    ((640, 480), 800, (640, 480)),  # never enlarged
    ((10000, 10), 800, (800, 1)),
])
def test_display_size(size, max_side, expected):
    assert display_size(size, max_side) == expected


def test_display_copy_of_big_photo_is_small():
    decoded = decode_image(_jpeg((4000, 3000)))
    assert display_copy(decoded, 800).size == (800, 600)


def test_decode_for_display_keeps_a_big_jpeg_sharp_enough_to_show(tiny_predictor):
    data = _jpeg((4000, 3000))
    for_models = tiny_predictor.decode(data)
    for_both = decode_for_display(data, tiny_predictor.facts, 800)
    assert for_models.image.width < 800  # the models alone would accept a tiny decode
    assert for_both.scale < 1 and min(for_both.image.size) >= 800  # reduced, but not below 800
    assert display_copy(for_both, 800).size == (800, 600)


@pytest.mark.parametrize("click, expected", [
    ({"x": 0, "y": 0, "width": 800, "height": 600}, (2.5, 2.5)),
    ({"x": 400, "y": 300, "width": 800, "height": 600}, (2002.5, 1502.5)),
    ({"x": 799, "y": 599, "width": 800, "height": 600}, (3997.5, 2997.5)),
    ({"x": 900, "y": -5, "width": 800, "height": 600}, (4000.0, 0.0)),  # clamped inside
])
def test_click_maps_to_original_pixels(click, expected):
    assert to_original(click, (4000, 3000)) == pytest.approx(expected)


def test_to_display_inverts_to_original():
    x, y = to_original({"x": 123, "y": 45, "width": 600, "height": 800}, (3000, 4000))
    assert to_display((x, y), (3000, 4000), (600, 800)) == pytest.approx((123.5, 45.5))


def test_overlay_draws_box_and_point_where_they_belong():
    shown = Image.new("RGB", (400, 300), (0, 0, 0))
    out = draw_overlay(shown, (4000, 3000), (2000, 1500),
                       {"color": Box(1000, 500, 2000, 1500), "theme": Box(0, 0, 3000, 3000)})
    assert out.getpixel((200, 150)) == (255, 255, 255)  # the point, at the scaled centre
    assert out.getpixel((150, 50)) == (255, 45, 85)  # top edge of the first box
    assert out.getpixel((150, 100)) == (0, 0, 0)  # inside it: untouched
    assert shown.getpixel((200, 150)) == (0, 0, 0)  # the original copy is not drawn on


def test_crop_image_takes_the_box_from_a_downscaled_decode():
    image = Image.new("RGB", (2000, 2000), (0, 0, 255))
    image.paste((255, 0, 0), (1000, 0, 2000, 2000))  # right half red
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    decoded = decode_image(buffer.getvalue(), crop_needs=[(0.1, 32)])
    assert decoded.scale < 1  # decoded at reduced size
    crop = crop_image(decoded, Box(1200, 100, 1400, 300), side=64)
    red, green, blue = crop.getpixel((32, 32))
    assert crop.size == (64, 64) and red > 200 and blue < 60


def test_png_bytes_round_trip():
    data = png_bytes(Image.new("RGB", (8, 8), (1, 2, 3)))
    assert Image.open(io.BytesIO(data)).getpixel((0, 0)) == (1, 2, 3)


# What a camera stores for each EXIF orientation, given the upright picture (inverse transforms).
_STORED = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_click_on_the_displayed_image_finds_the_spot_for_every_exif_orientation(
        orientation, tiny_predictor):
    upright = Image.new("RGB", (1600, 1200), (0, 0, 255))
    upright.paste((255, 0, 0), (1100, 200, 1300, 400))  # a red square, centre (1200, 300)
    stored = upright if _STORED[orientation] is None else upright.transpose(_STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=95, exif=exif)
    decoded = decode_for_display(buffer.getvalue(), tiny_predictor.facts)
    shown = display_copy(decoded, 800)
    assert shown.size == (800, 600)
    assert shown.getpixel((600, 150))[0] > 200  # the square is where a browser shows it
    point = to_original({"x": 600, "y": 150, "width": 800, "height": 600}, decoded.size)
    x, y = round(point[0]), round(point[1])
    box = Box(x - 50, y - 50, x + 50, y + 50)
    red, _, blue = crop_image(decoded, box, side=16).getpixel((8, 8))
    assert point == pytest.approx((1201.0, 301.0)) and red > 200 and blue < 60


@pytest.mark.parametrize("click, last_seen, expected", [
    (None, None, False),
    ({"x": 1, "y": 2, "unix_time": 100}, None, True),
    ({"x": 1, "y": 2, "unix_time": 100}, 100, False),  # the component repeating itself
    ({"x": 1, "y": 2, "unix_time": 101}, 100, True),
    ({"x": 1, "y": 2}, None, False),
])
def test_is_new_click(click, last_seen, expected):
    assert is_new_click(click, last_seen) is expected


def test_progress_text():
    assert progress_text(12, 40) == "12 of 40"
    assert progress_text(41, 40) == "40 of 40"


@pytest.mark.parametrize("size, expected", [
    ((5, 5), (320, 320)),  # a speck becomes a visible square of crisp pixels
    ((100, 50), (300, 150)),  # enlarged by a whole factor
    ((319, 200), (319, 200)),  # nearly big enough: left alone
    ((4000, 3000), (800, 600)),
])
def test_display_size_enlarges_small_images(size, expected):
    assert display_size(size, 800, min_side=320) == expected


def test_tiny_image_is_shown_with_sharp_pixels():
    pixels = Image.new("RGB", (2, 1), (255, 0, 0))
    pixels.putpixel((1, 0), (0, 0, 255))
    shown = display_copy(decode_image(png_bytes(pixels)), 800)
    assert shown.size == (320, 160)
    assert shown.getpixel((159, 80)) == (255, 0, 0) and shown.getpixel((160, 80)) == (0, 0, 255)


@pytest.mark.parametrize("center, expected", [
    ((2000, 1500), Box(1500, 1125, 2500, 1875)),
    ((10, 10), Box(0, 0, 1000, 750)),  # held inside the image at the corner
    ((3990, 2990), Box(3000, 2250, 4000, 3000)),
])
def test_zoom_view_is_centred_and_kept_inside(center, expected):
    assert zoom_view((4000, 3000), center, 4) == expected


def test_click_in_a_zoomed_view_maps_to_original_pixels():
    view = zoom_view((4000, 3000), (2000, 1500), 4)  # 1000x750 original pixels shown at 800x600
    click = {"x": 400, "y": 300, "width": 800, "height": 600}
    assert to_original(click, (4000, 3000), view) == pytest.approx((2000.625, 1500.625))
    assert to_display((2000.625, 1500.625), (4000, 3000), (800, 600), view) == pytest.approx(
        (400.5, 300.5))


def test_zoomed_copy_shows_the_view():
    image = Image.new("RGB", (400, 300), (0, 0, 255))
    image.paste((255, 0, 0), (300, 0, 400, 300))  # the right quarter is red
    decoded = decode_image(png_bytes(image))
    shown = display_copy(decoded, 800, zoom_view(decoded.size, (325, 150), 4))  # x 275-375
    assert shown.size == (400, 300)  # the same size as the whole image is shown at
    assert shown.getpixel((90, 150)) == (0, 0, 255) and shown.getpixel((110, 150)) == (255, 0, 0)


def test_bordered_crop_wears_its_box_colour():
    framed = bordered(Image.new("RGB", (64, 64), (0, 0, 0)), "#ff2d55", side=112, line=5)
    assert framed.size == (112, 112)
    assert framed.getpixel((2, 50)) == (255, 45, 85) and framed.getpixel((56, 56)) == (0, 0, 0)
