"""Proposal images: checked by their bytes, stored under ``settings.media_dir`` with random names.

The media directory is outside the web root; images are served by a controller that looks the
file up by the name stored on a visible proposal and sends the type recorded at upload, so an
uploaded file is never interpreted as anything else.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from pb.errors import InvalidInput
from pb.settings import Settings

__all__ = [
    "IMAGE_TYPES",
    "MAX_IMAGE_BYTES",
    "Image",
    "delete_image",
    "image_path",
    "sniff_image",
    "write_image",
]

MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp)$")


@dataclass(frozen=True, slots=True)
class Image:
    data: bytes
    content_type: str

    @property
    def extension(self) -> str:
        return IMAGE_TYPES[self.content_type]


def sniff_image(data: bytes) -> Image:
    """Accept PNG, JPEG or WebP up to ``MAX_IMAGE_BYTES``, judged by the bytes, not the name."""
    if not data:
        raise InvalidInput("The image file is empty.", field="image")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidInput(
            f"The image is too large ({len(data) // 1024} KiB); the limit is "
            f"{MAX_IMAGE_BYTES // (1024 * 1024)} MiB.",
            field="image",
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Image(data, "image/png")
    if data.startswith(b"\xff\xd8\xff"):
        return Image(data, "image/jpeg")
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Image(data, "image/webp")
    raise InvalidInput("The image must be a PNG, JPEG or WebP file.", field="image")


def media_root(settings: Settings) -> Path:
    return Path(settings.media_dir) / "proposals"


def write_image(settings: Settings, image: Image) -> str:
    """Store the image under a fresh random name and return that name (blocking: run in a thread)."""
    root = media_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{image.extension}"
    tmp = root / f".{name}.tmp"
    tmp.write_bytes(image.data)
    os.replace(tmp, root / name)
    return name


def image_path(settings: Settings, name: str) -> Path | None:
    """The file for a stored name, or ``None`` for anything that is not one of our names."""
    if not _NAME.match(name or ""):
        return None
    return media_root(settings) / name


def delete_image(settings: Settings, name: str | None) -> None:
    path = image_path(settings, name or "")
    if path is not None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
