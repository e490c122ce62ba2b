"""Turn bytes, a path or a PIL image into checked RGB pixels, decoding no more than needed."""

from __future__ import annotations

import hashlib
import io
import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Importing the three decoders registers them, so Image.open does not import every
# Pillow plugin (~150 ms) on the first request.
from PIL import Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa: F401

from .errors import ImageNotFound, ImageRejected
from .image_limits import ImageLimits
from .memory import TRIM_ABOVE_PIXELS, decode_budget, give_back_memory

ImageSource = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO | Image.Image

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Names for formats people commonly try, so the refusal says what was sent.
_KNOWN_REFUSED = {
    b"GIF8": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"%PDF": "PDF",
    b"%!PS": "PostScript/EPS",
    b"8BPS": "PSD",
    b"BM": "BMP",
    b"SIMPLE": "FITS",
}
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}
# What ImageOps.exif_transpose does for each EXIF orientation, applied to the reduced copy.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class DecodedImage:
    """An image ready for cropping: RGB pixels plus what is needed to map points onto them.

    `size` is the original size as a browser shows it (EXIF orientation applied);
    `image` may be smaller by `scale` when only part of the resolution was needed.
    """

    image: Image.Image
    size: tuple[int, int]
    scale: float
    format: str
    sha256: str
    n_bytes: int
    decode_ms: float = 0.0

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def describe(self) -> dict[str, object]:
        """Return what is stored and reported about the image, JSON-ready."""
        return {"width": self.width, "height": self.height, "format": self.format,
                "sha256": self.sha256, "bytes": self.n_bytes}


def decode_image(
    source: ImageSource,
    limits: ImageLimits = ImageLimits(),
    crop_needs: Sequence[tuple[float, int]] = (),
    wait_s: float | None = 30.0,
) -> DecodedImage:
    """Check and decode an image; raise ImageRejected with a one-line reason if it is unusable.

    `crop_needs` lists (crop fraction, model input size) pairs: a large image is then kept
    at the smallest scale that still gives every crop its full input size (a JPEG is even
    decoded at 1/2, 1/4 or 1/8). Decodes share a budget of pixels in flight
    (memory.decode_budget); past it, wait up to `wait_s` seconds, then raise DecodeBusy.
    """
    started = time.perf_counter()
    if isinstance(source, Image.Image):
        return _from_pil(source, limits)
    data = _read_bytes(source, limits)
    digest = hashlib.sha256(data).hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
        except Image.DecompressionBombError:
            raise ImageRejected(f"image is over the {limits.max_pixels / 1e6:g} MP limit") from None
        except Exception:
            raise ImageRejected(_unsupported_message(data)) from None
        _check_pixels(image.size, limits)
        raw_size, fmt = image.size, image.format or ""
        _draft(image, crop_needs)
        with decode_budget().reserve(image.size[0] * image.size[1], wait_s):
            pixels, orientation = _finish(image, crop_needs)
            if pixels is not image:
                image.close()  # drop the full-size decode now, not when this frame ends
            if raw_size[0] * raw_size[1] >= TRIM_ABOVE_PIXELS:
                give_back_memory()  # before the next decode may take this part of the budget
        del image
    size = _displayed_size(raw_size, orientation)
    scale = pixels.width / size[0]
    elapsed = (time.perf_counter() - started) * 1e3
    return DecodedImage(pixels, size, scale, fmt, digest, len(data), elapsed)


def _read_bytes(source: ImageSource, limits: ImageLimits) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_path(Path(source), limits)
    elif hasattr(source, "read"):
        data = source.read(limits.max_bytes + 1)
    else:
        raise ImageRejected(f"cannot read an image from a {type(source).__name__}")
    if not data:
        raise ImageRejected("the image is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ImageRejected(f"the image is larger than the {_megabytes(limits.max_bytes)} limit")
    return data


def _read_path(path: Path, limits: ImageLimits) -> bytes:
    try:
        if not path.is_file():
            what = "is not a regular file" if path.exists() else "does not exist"
            raise ImageNotFound(f"{path} {what}")
        if path.stat().st_size > limits.max_bytes:
            raise ImageRejected(f"{path} is larger than the {_megabytes(limits.max_bytes)} limit")
        with path.open("rb") as handle:
            return handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise ImageNotFound(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:  # a name the file system cannot hold: a lone surrogate, a NUL byte
        raise ImageNotFound(f"{str(path)[:80]!r} is not a valid file name") from None


def _from_pil(image: Image.Image, limits: ImageLimits) -> DecodedImage:
    _check_pixels(image.size, limits)
    pixels, _orientation = _finish(image, ())
    digest = hashlib.sha256(pixels.tobytes()).hexdigest()
    return DecodedImage(pixels, pixels.size, 1.0, image.format or "PIL", digest, 0)


def _check_pixels(size: tuple[int, int], limits: ImageLimits) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise ImageRejected(f"image has no pixels ({width}x{height})")
    if width * height > limits.max_pixels:
        raise ImageRejected(
            f"image is {width}x{height} = {width * height / 1e6:.1f} MP, "
            f"over the {limits.max_pixels / 1e6:g} MP limit"
        )


def _draft(image: Image.Image, crop_needs: Sequence[tuple[float, int]]) -> None:
    """Ask the JPEG decoder for a reduced scale that keeps every crop at full model input."""
    if image.format != "JPEG" or not crop_needs:
        return
    shorter = min(image.size)
    reduce = min(fraction * shorter / input_size for fraction, input_size in crop_needs)
    if reduce >= 2:
        width, height = image.size
        image.draft(None, (math.ceil(width / reduce), math.ceil(height / reduce)))


def _finish(image: Image.Image, crop_needs: Sequence[tuple[float, int]]
            ) -> tuple[Image.Image, int | None]:
    """Decode frame 0, reduce it to what the crops need, apply EXIF orientation and flatten
    transparency onto white; return the RGB pixels and the orientation.

    Only the decode itself is full size: every copy (reduce, transpose, flatten) is made
    of the reduced image, so a 50 MP RGBA PNG costs one 200 MB buffer, not five.
    """
    try:
        image.load()
        orientation = _orientation(image)
        transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        pixels = image
        if pixels.mode not in ("RGB", "RGBA", "L"):  # palette, 16-bit, CMYK: reduce needs these
            pixels = pixels.convert("RGBA" if transparent else "RGB")
        factor = _reduce_factor(pixels.size, crop_needs)
        if factor >= 2:
            pixels = pixels.reduce(factor)
        if orientation in _TRANSPOSE:
            pixels = pixels.transpose(_TRANSPOSE[orientation])
        if transparent:
            rgba = pixels if pixels.mode == "RGBA" else pixels.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, (0, 0), rgba)  # blends by alpha onto white, in place
            return flat, orientation
        return (pixels if pixels.mode == "RGB" else pixels.convert("RGB")), orientation
    except Exception as exc:  # decoders raise many types for damaged data
        raise ImageRejected(f"the image is corrupt or truncated ({_short(exc)})") from None


def _reduce_factor(size: tuple[int, int], crop_needs: Sequence[tuple[float, int]]) -> int:
    """Return the largest whole factor that keeps every crop at its model's full input size."""
    if not crop_needs:
        return 1
    return max(1, math.floor(min(f * min(size) / side for f, side in crop_needs)))


def _orientation(image: Image.Image) -> int | None:
    try:
        return image.getexif().get(0x0112)
    except Exception:  # unreadable EXIF: show the pixels as stored, as browsers do
        return None


def _displayed_size(raw_size: tuple[int, int], orientation: int | None) -> tuple[int, int]:
    width, height = raw_size
    return (height, width) if orientation in _ROTATED_ORIENTATIONS else (width, height)


def _unsupported_message(data: bytes) -> str:
    for magic, name in _KNOWN_REFUSED.items():
        if data.startswith(magic):
            return f"{name} images are not accepted (JPEG, PNG or WebP only)"
    if data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n":
        return "the image is corrupt or truncated (its header cannot be read)"
    return "not a JPEG, PNG or WebP image"


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / (1024 * 1024):g} MB"


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]
