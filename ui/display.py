"""What the browser is sent: a display-sized copy, the click mapped back, boxes drawn on top;
and the click and progress helpers of a tester's session. No Streamlit here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PIL import Image, ImageDraw

from predictor.crop import Box
from predictor.images import DecodedImage, ImageLimits, ImageSource, decode_image
from predictor.manifest import ModelSpec
from predictor.predict import crop_needs

# One outline colour per model, in manifest order; the point is drawn in white and black.
BOX_COLORS = ("#ff2d55", "#00c7be", "#ffcc00", "#af52de", "#34c759")


def display_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Return `size` shrunk (never enlarged) so that its longer side is at most `max_side`."""
    width, height = size
    factor = min(1.0, max_side / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def decode_for_display(source: ImageSource, specs: Sequence[ModelSpec], limits: ImageLimits,
                       max_side: int = 800) -> DecodedImage:
    """Decode once for both uses: every model's crop at full input size, and a sharp display copy.

    A big JPEG is still decoded at a reduced scale, but never below `max_side` pixels.
    """
    return decode_image(source, limits, [*crop_needs(list(specs)), (1.0, max_side)])


def display_copy(decoded: DecodedImage, max_side: int = 800) -> Image.Image:
    """Return a small RGB copy of the image as the browser should show it."""
    return decoded.image.resize(display_size(decoded.size, max_side), Image.Resampling.LANCZOS,
                                reducing_gap=2.0)


def to_original(click: Mapping[str, float], size: tuple[int, int]) -> tuple[float, float]:
    """Map a click in displayed pixels ({x, y, width, height}) to original image pixels.

    The click names a displayed pixel; its centre maps into the original, clamped inside it.
    """
    width, height = size
    x = (float(click["x"]) + 0.5) * width / float(click["width"])
    y = (float(click["y"]) + 0.5) * height / float(click["height"])
    return min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))


def to_display(point: tuple[float, float], size: tuple[int, int],
               shown: tuple[int, int]) -> tuple[float, float]:
    """Map a point in original pixels onto an image displayed at `shown` size."""
    return point[0] * shown[0] / size[0], point[1] * shown[1] / size[1]


def draw_overlay(shown: Image.Image, size: tuple[int, int], point: tuple[float, float],
                 boxes: Mapping[str, Box]) -> Image.Image:
    """Return a copy of the displayed image with each model's crop box and the point drawn."""
    out = shown.copy()
    draw = ImageDraw.Draw(out)
    line = max(2, round(max(out.size) / 250))
    for color, (_, box) in zip(BOX_COLORS * 4, boxes.items(), strict=False):
        left, top = to_display((box.left, box.top), size, out.size)
        right, bottom = to_display((box.right, box.bottom), size, out.size)
        draw.rectangle((left, top, right - 1, bottom - 1), outline=color, width=line)
    x, y = to_display(point, size, out.size)
    radius = 3 * line
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill="white",
                 outline="black", width=line)
    return out


def is_new_click(click: Mapping[str, object] | None, last_seen: object) -> bool:
    """Return True if `click` is a real click not handled yet.

    The image component repeats its last click on every rerun; its unix_time tells them apart.
    """
    if not click or click.get("unix_time") is None:
        return False
    return click["unix_time"] != last_seen


def progress_text(done: int, total: int) -> str:
    """Return "12 of 40" style progress for a labeling batch."""
    return f"{min(done, total)} of {total}"
