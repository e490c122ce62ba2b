import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from predictor import DecodedImage, ImageLimits, ImageNotFound, ImageRejected, decode_image
from tests.conftest import encode, noise_image

ROOT = Path(__file__).resolve().parent.parent
RED, BLUE = (220, 20, 20), (20, 40, 220)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_are_detected_from_content_not_name(tmp_path, fmt):
    path = tmp_path / "photo.txt"  # a misleading name
    path.write_bytes(encode(noise_image(64, 48), fmt))
    decoded = decode_image(path)
    assert decoded.format == fmt
    assert decoded.size == (64, 48)
    assert decoded.image.mode == "RGB"


def test_bytes_file_object_and_pil_image_give_the_same_pixels():
    data = encode(noise_image(40, 30), "PNG")
    from_bytes = decode_image(data)
    from_file = decode_image(io.BytesIO(data))
    from_pil = decode_image(Image.open(io.BytesIO(data)))
    assert from_bytes.sha256 == from_file.sha256
    assert np.array_equal(np.asarray(from_bytes.image), np.asarray(from_pil.image))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparency_is_flattened_onto_white(mode):
    image = Image.new("RGBA", (20, 20), (255, 0, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, 10, 20))  # left half fully transparent
    if mode == "LA":
        image = image.convert("LA")
    elif mode == "P":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
        image.info["transparency"] = image.getpixel((0, 0))
    pixels = np.asarray(decode_image(encode(image, "PNG")).image)
    assert pixels[5, 2].tolist() == [255, 255, 255]
    assert pixels[5, 15].tolist() != [255, 255, 255]


# Pillow's method that *undoes* each orientation, used to store the raw pixels.
_INVERSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def exif_rotated_jpeg(orientation: int) -> bytes:
    """A JPEG that a browser shows as 120x80, blue with a red square at (10..30, 10..30)."""
    shown = Image.new("RGB", (120, 80), BLUE)
    shown.paste(RED, (10, 10, 30, 30))
    method = _INVERSE[orientation]
    raw = shown if method is None else shown.transpose(method)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(raw, "JPEG", exif=exif.tobytes(), quality=95)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_browser_coordinates(orientation):
    decoded = decode_image(exif_rotated_jpeg(orientation))
    assert decoded.size == (120, 80)
    pixels = np.asarray(decoded.image).astype(int)
    assert np.abs(pixels[20, 20] - RED).max() < 40
    assert np.abs(pixels[60, 100] - BLUE).max() < 40


def test_bytes_over_the_cap_are_refused_before_decoding(tmp_path):
    limits = ImageLimits(max_bytes=1000)
    data = b"\xff\xd8\xff" + b"\0" * 998  # cap + 1 bytes, never a valid JPEG
    with pytest.raises(ImageRejected, match="larger than"):
        decode_image(data, limits)
    path = tmp_path / "big.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageRejected, match="larger than"):
        decode_image(path, limits)
    with pytest.raises(ImageRejected, match="larger than"):
        decode_image(io.BytesIO(data), limits)


def test_default_limits_are_20_mb_and_50_megapixels():
    assert ImageLimits() == ImageLimits(20 * 1024 * 1024, 50_000_000)


def test_pixel_bomb_is_refused_from_the_header():
    bomb = encode(Image.new("1", (20000, 20000)), "PNG")  # 400 MP in a few KB
    assert len(bomb) < 100_000
    with pytest.raises(ImageRejected, match="over the 50 MP limit"):
        decode_image(bomb)


def test_pixel_limit_is_configurable():
    data = encode(Image.new("RGB", (200, 200)), "PNG")
    with pytest.raises(ImageRejected, match="MP limit"):
        decode_image(data, ImageLimits(max_pixels=39_999))
    assert decode_image(data, ImageLimits(max_pixels=40_000)).size == (200, 200)


def _gif() -> bytes:
    return encode(Image.new("P", (10, 10)), "GIF")


REFUSED = {
    "GIF": _gif,
    "TIFF": lambda: encode(Image.new("RGB", (10, 10)), "TIFF"),
    "BMP": lambda: encode(Image.new("RGB", (10, 10)), "BMP"),
    "PDF": lambda: encode(Image.new("RGB", (10, 10)), "PDF"),
    "PSD": lambda: b"8BPS\x00\x01" + b"\0" * 100,
    "PostScript/EPS": lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
    "FITS": lambda: b"SIMPLE  =                    T" + b" " * 2850,
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_other_formats_are_refused_even_renamed_jpg(tmp_path, name):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(REFUSED[name]())
    with pytest.raises(ImageRejected, match=re.escape(f"{name} images are not accepted")):
        decode_image(path)


def test_text_renamed_jpg_is_refused(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a photo\n")
    with pytest.raises(ImageRejected, match="not a JPEG, PNG or WebP"):
        decode_image(path)


def test_polyglot_with_a_jpeg_tail_is_refused():
    polyglot = b"%PDF-1.4\n" + encode(noise_image(8, 8), "JPEG")
    with pytest.raises(ImageRejected, match="PDF images are not accepted"):
        decode_image(polyglot)


def test_empty_missing_and_directory_inputs(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageRejected, match="empty"):
        decode_image(tmp_path / "empty.png")
    with pytest.raises(ImageNotFound, match="does not exist"):
        decode_image(tmp_path / "nowhere.png")
    with pytest.raises(ImageNotFound, match="not a regular file"):
        decode_image(tmp_path)
    with pytest.raises(ImageRejected, match="empty"):
        decode_image(b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_files_are_a_clear_error(fmt, keep):
    data = encode(noise_image(128, 96, seed=3), fmt)
    with pytest.raises(ImageRejected):
        decode_image(data[: int(len(data) * keep)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(["JPEG", "PNG", "WEBP"]),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=8),
)
def test_damaged_files_decode_or_raise_image_rejected_only(fmt, cut, flips):
    data = bytearray(encode(noise_image(48, 32, seed=1), fmt))
    for where, mask in flips:
        data[int(where * (len(data) - 1))] ^= mask
    data = bytes(data[: max(1, int(len(data) * cut))]) if cut < 1 else bytes(data)
    try:
        decoded = decode_image(data)
    except ImageRejected:
        return
    assert isinstance(decoded, DecodedImage) and decoded.image.mode == "RGB"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_images_use_frame_zero_only(fmt):
    frames = [Image.new("RGB", (16, 16), (i % 256, 0, 0)) for i in range(1000)]
    frames[0] = Image.new("RGB", (16, 16), (0, 200, 0))
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=10)
    decoded = decode_image(data)
    assert np.asarray(decoded.image)[8, 8].tolist()[1] > 150


def test_large_jpeg_decodes_at_reduced_scale_keeping_model_resolution():
    data = encode(noise_image(4000, 3000, seed=2), "JPEG", quality=80)
    # Smallest crop: 0.15 x 3000 = 450 px for a 96 px model: 1/4 scale keeps 112 px.
    decoded = decode_image(data, crop_needs=[(0.15, 96), (0.5, 96)])
    assert decoded.size == (4000, 3000)
    assert decoded.scale == 0.25
    assert decoded.image.size == (1000, 750)
    assert decode_image(data, crop_needs=[(0.15, 300)]).scale == 1.0


def test_requirements_pin_pillow_with_the_crop_fix():
    pins = (ROOT / "requirements.txt").read_text()
    version = re.search(r"^pillow==(\d+)\.(\d+)\.(\d+)", pins, re.M | re.I)
    assert version and tuple(map(int, version.groups())) >= (12, 3, 0)
    assert tuple(map(int, Image.__version__.split(".")[:2])) >= (12, 3)
