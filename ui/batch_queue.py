"""The Label session's queue: the batch as small thumbnails, ✓ labeled / ○ not yet, the open
photo framed; a click on a thumbnail opens that photo.

The thumbnails sit on one contact sheet shown by the same click component as the photo: one
image, one click. Each thumbnail is made once per image per session; the sheet is redrawn and
re-encoded only when the statuses or the open photo change.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import streamlit as st
from PIL import Image, ImageDraw, ImageOps
from streamlit_image_coordinates import streamlit_image_coordinates

from predictor import ACCEPTED_FORMATS, PinpointError
from ui.display import is_new_click

THUMB = 52  # a thumbnail's longer side, in pixels: four cells fill the sidebar's 240
PAD = 4  # around each thumbnail: the cell is THUMB + 2 * PAD
COLUMNS = 4  # thumbnails per row: the sheet fits the sidebar
CURRENT = "#ff4b4b"
DONE = "#21a366"


def thumbnail(source: bytes | Path, max_pixels: int, side: int = THUMB) -> Image.Image:
    """A small RGB copy of an image (JPEGs decoded at a reduced scale); a grey tile with a
    cross for anything that cannot be read or is too big (its photo then says why)."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            if image.format not in ACCEPTED_FORMATS or image.width * image.height > max_pixels:
                return _unreadable(side)
            image.draft("RGB", (side * 2, side * 2))
            small = ImageOps.exif_transpose(image).convert("RGB")
            small.thumbnail((side, side), Image.Resampling.LANCZOS)
            return small
    except (OSError, ValueError, Image.DecompressionBombError):
        return _unreadable(side)


def _unreadable(side: int) -> Image.Image:
    tile = Image.new("RGB", (side, side), "#d0d3da")
    draw = ImageDraw.Draw(tile)
    draw.line((side * 0.3, side * 0.3, side * 0.7, side * 0.7), fill="#70737a", width=3)
    draw.line((side * 0.3, side * 0.7, side * 0.7, side * 0.3), fill="#70737a", width=3)
    return tile


def contact_sheet(thumbs: Sequence[Image.Image], done: set[int], current: int,
                  columns: int = COLUMNS) -> Image.Image:
    """The thumbnails in rows of `columns`, each with its number, ✓ (labeled) or ○ (not yet),
    and the open photo (`current`) framed in red."""
    cell = THUMB + 2 * PAD
    rows = max(1, (len(thumbs) + columns - 1) // columns)
    sheet = Image.new("RGB", (columns * cell, rows * cell), "white")
    draw = ImageDraw.Draw(sheet)
    for i, thumb in enumerate(thumbs):
        left, top = (i % columns) * cell, (i // columns) * cell
        draw.rectangle((left + 1, top + 1, left + cell - 2, top + cell - 2), fill="#f0f2f6")
        sheet.paste(thumb, (left + (cell - thumb.width) // 2, top + (cell - thumb.height) // 2))
        if i == current:
            draw.rectangle((left, top, left + cell - 1, top + cell - 1), outline=CURRENT,
                           width=3)
        draw.rectangle((left + 3, top + 3, left + 19, top + 15), fill="#31333f")
        draw.text((left + 11, top + 9), str(i + 1), fill="white", anchor="mm")
        _status(draw, left + cell - 15, top + cell - 15, i in done)
    return sheet


def _status(draw: ImageDraw.ImageDraw, x: int, y: int, labeled: bool) -> None:
    """A green disc with a check mark (labeled), or a white ring (not yet), centred at x, y."""
    r = 9
    if labeled:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=DONE, outline="white", width=2)
        draw.line((x - 4, y, x - 1, y + 4, x + 5, y - 4), fill="white", width=2)
    else:
        draw.ellipse((x - r, y - r, x + r, y + r), fill="white", outline="#808495", width=2)


def index_at(click: Mapping[str, float], sheet_size: tuple[int, int], count: int,
             columns: int = COLUMNS) -> int | None:
    """The thumbnail under a click ({x, y, width, height} in displayed pixels), or None."""
    cell = THUMB + 2 * PAD
    x = float(click["x"]) * sheet_size[0] / float(click["width"])
    y = float(click["y"]) * sheet_size[1] / float(click["height"])
    column, row = int(x // cell), int(y // cell)
    index = row * columns + column
    return index if 0 <= column < columns and 0 <= index < count else None


class _Encoded:
    """Already encoded JPEG bytes, handed to the click component as if it were an image."""

    def __init__(self, data: bytes):
        self.data = data

    def save(self, buffer: io.BytesIO, **_options: object) -> None:
        buffer.write(self.data)


def clicked_index(count: int) -> int | None:
    """The thumbnail the tester clicked since the last run, read before the page is drawn (so
    this run already shows that photo), or None."""
    click = st.session_state.get("label_queue")
    cached = st.session_state.get("label_sheet")
    if not click or cached is None or not is_new_click(click, st.session_state.get(
            "label_queue_seen")):
        return None
    st.session_state["label_queue_seen"] = click["unix_time"]
    return index_at(click, cached[1], count)


def queue_ui(read: Callable[[int], bytes | Path], keys: Sequence[str], done: set[int],
             current: int, max_pixels: int, jump: Callable[[int], None]) -> None:
    """Show the batch as a clickable contact sheet (in the sidebar); a click calls jump(i)."""
    made = st.session_state.setdefault("label_thumbs", {})
    for i, key in enumerate(keys):  # once per image per session
        if key not in made:
            made[key] = _thumbnail_of(read, i, max_pixels)
    marker = (tuple(keys), tuple(sorted(done)), current)
    cached = st.session_state.get("label_sheet")
    if not cached or cached[0] != marker:
        sheet = contact_sheet([made[key] for key in keys], done, current)
        encoded = io.BytesIO()
        sheet.save(encoded, format="JPEG", quality=88)
        cached = (marker, sheet.size, _Encoded(encoded.getvalue()))
        st.session_state["label_sheet"] = cached
    st.caption(f"**Queue** · ✓ labeled {len(done)} · ○ not yet {len(keys) - len(done)} · "
               "click a photo to open it")
    click = streamlit_image_coordinates(cached[2], width=cached[1][0], key="label_queue",
                                        image_format="JPEG", cursor="pointer")
    if click and is_new_click(click, st.session_state.get("label_queue_seen")):  # not up front
        st.session_state["label_queue_seen"] = click["unix_time"]
        index = index_at(click, cached[1], len(keys))
        if index is not None and index != current:
            jump(index)
            st.rerun()


def _thumbnail_of(read: Callable[[int], bytes | Path], index: int, max_pixels: int
                  ) -> Image.Image:
    try:
        return thumbnail(read(index), max_pixels)
    except (OSError, PinpointError):
        return _unreadable(THUMB)
