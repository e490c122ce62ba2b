"""What the browser is sent: a display-sized copy, the click mapped back, boxes drawn on top;
and the click and progress helpers of a tester's session. No Streamlit here."""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image, ImageDraw, ImageOps

from predictor.crop import Box
from predictor.facts import ServedModels
from predictor.images import DecodedImage, ImageSource, decode_image

# One outline colour per model, in manifest order; the point is drawn in white and black.
BOX_COLORS = ("#ff2d55", "#00c7be", "#ffcc00", "#af52de", "#34c759")


MIN_SIDE = 320  # a smaller image is enlarged (by whole pixels) so it is not a speck


def display_size(size: tuple[int, int], max_side: int,
                 min_side: int = 0) -> tuple[int, int]:
    """Return `size` shrunk so that its longer side is at most `max_side`; an image whose
    longer side is under `min_side` is enlarged by a whole factor instead (crisp pixels)."""
    width, height = size
    longest = max(width, height)
    if longest < min_side:
        factor = float(max(1, min(min_side // longest, max_side // longest)))
    else:
        factor = min(1.0, max_side / longest)
    return max(1, round(width * factor)), max(1, round(height * factor))


def decode_for_display(source: ImageSource, models: ServedModels,
                       max_side: int = 800) -> DecodedImage:
    """Decode once for both uses: every model's crop at full input size, and a sharp display copy.

    A big JPEG is still decoded at a reduced scale, but never below `max_side` pixels.
    """
    return decode_image(source, models.limits, [*models.crop_needs(), (1.0, max_side)])


def display_copy(decoded: DecodedImage, max_side: int = 800,
                 view: Box | None = None) -> Image.Image:
    """Return a small RGB copy of the image (or of the `view` part of it, in original pixels)
    as the browser should show it; a tiny image is enlarged with sharp pixel edges."""
    image, target = decoded.image, display_size(decoded.size, max_side, MIN_SIDE)
    if view is not None:  # the zoomed part fills the same displayed size as the whole
        s = decoded.scale
        image = image.crop((round(view.left * s), round(view.top * s),
                            round(view.right * s), round(view.bottom * s)))
    if max(decoded.size) < MIN_SIDE:  # a tiny image: show its pixels as squares, not a blur
        return image.resize(target, Image.Resampling.NEAREST)
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)


def zoom_view(size: tuple[int, int], center: tuple[float, float], zoom: float) -> Box:
    """Return the part of an image of `size` to show at `zoom` (2 = half the width), centred
    on `center` as far as the edges allow, in original pixels."""
    width, height = size
    view_w, view_h = max(1, round(width / zoom)), max(1, round(height / zoom))
    left = min(max(0, round(center[0] - view_w / 2)), width - view_w)
    top = min(max(0, round(center[1] - view_h / 2)), height - view_h)
    return Box(left, top, left + view_w, top + view_h)


def bordered(crop: Image.Image, color: str, side: int = 112, line: int = 5) -> Image.Image:
    """Return the crop enlarged to `side` pixels inside a border of its box's colour."""
    inner = side - 2 * line
    return ImageOps.expand(crop.convert("RGB").resize((inner, inner), Image.Resampling.NEAREST),
                           border=line, fill=color)


def to_original(click: Mapping[str, float], size: tuple[int, int],
                view: Box | None = None) -> tuple[float, float]:
    """Map a click in displayed pixels ({x, y, width, height}) to original image pixels.

    The click names a displayed pixel; its centre maps into the original (or into the
    zoomed `view` of it), clamped inside the image.
    """
    width, height = size
    view = view or Box(0, 0, width, height)
    x = view.left + (float(click["x"]) + 0.5) * (view.right - view.left) / float(click["width"])
    y = view.top + (float(click["y"]) + 0.5) * (view.bottom - view.top) / float(click["height"])
    return min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))


def to_display(point: tuple[float, float], size: tuple[int, int],
               shown: tuple[int, int], view: Box | None = None) -> tuple[float, float]:
    """Map a point in original pixels onto an image (or its `view`) displayed at `shown` size."""
    view = view or Box(0, 0, size[0], size[1])
    return ((point[0] - view.left) * shown[0] / (view.right - view.left),
            (point[1] - view.top) * shown[1] / (view.bottom - view.top))


def draw_overlay(shown: Image.Image, size: tuple[int, int], point: tuple[float, float],
                 boxes: Mapping[str, Box], view: Box | None = None) -> Image.Image:
    """Return a copy of the displayed image with each model's crop box and the point drawn."""
    out = shown.copy()
    draw = ImageDraw.Draw(out)
    line = max(2, round(max(out.size) / 250))
    for color, (_, box) in zip(BOX_COLORS * 4, boxes.items(), strict=False):
        left, top = to_display((box.left, box.top), size, out.size, view)
        right, bottom = to_display((box.right, box.bottom), size, out.size, view)
        draw.rectangle((left, top, right - 1, bottom - 1), outline=color, width=line)
    x, y = to_display(point, size, out.size, view)
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
