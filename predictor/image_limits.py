"""What an image may weigh before Pinpoint decodes it: a leaf the settings and the decoder share."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageLimits:
    """What an input may weigh: bytes before decoding and pixels in the header."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 50_000_000
