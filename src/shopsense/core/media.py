"""Product images a store ships as files beside its tables (``image_url`` = ``images/train.png``).

The loader checks each local image (inside the store directory, a real PNG, JPEG, GIF or WebP, at most
:data:`MAX_IMAGE_BYTES`) and names it by its content, so an item's ``image_url`` becomes ``/media/<hash>.png``;
``import`` keeps the bytes in the store's database (so every server of a PostgreSQL store has them) and the
API serves them at ``/media/...``. A bad image is a warning: the item stays, shown with its letter tile.
URLs (``https://...``) and paths on the server (``/...``) are left as they are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shopsense.core.load_tables import TableLoad
from shopsense.core.validation import Problem

MEDIA_PREFIX = "/media/"
MEDIA_NAME = r"^[0-9a-f]{24}\.(png|jpg|gif|webp)$"
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# SVG is left out on purpose: opened on its own it runs scripts in the store's origin.
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png", ".png"), (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
               (b"GIF87a", "image/gif", ".gif"), (b"GIF89a", "image/gif", ".gif"))


@dataclass(frozen=True)
class MediaFile:
    name: str  # "<sha256 prefix>.<ext>": the same bytes always get the same name
    content_type: str
    data: bytes


def image_type(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a PNG, JPEG, GIF or WebP image, from its first bytes; None otherwise."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    for magic, content_type, ext in _SIGNATURES:
        if data.startswith(magic):
            return content_type, ext
    return None


def is_local_path(value: object) -> bool:
    """Whether an ``image_url`` cell names a file of the store directory (not a URL, not a server path)."""
    text = str(value or "").strip()
    return bool(text) and "://" not in text and not text.startswith(("/", "data:", "javascript:"))


def media_file(path: Path) -> MediaFile | str:
    """The checked image at ``path``, or what is wrong with it."""
    if not path.is_file():
        return "names no file in the store directory"
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        return f"is {size / 1e6:.1f} MB, over the {MAX_IMAGE_BYTES // (1024 * 1024)} MB limit for an image"
    data = path.read_bytes()
    kind = image_type(data)
    if kind is None:
        return "is not a PNG, JPEG, GIF or WebP image"
    return MediaFile(hashlib.sha256(data).hexdigest()[:24] + kind[1], kind[0], data)


def local_images(root: Path, items: TableLoad) -> tuple[dict[str, MediaFile], list[Problem]]:
    """Check the items' local images and point their ``image_url`` at ``/media/...`` (in place); a bad one is
    a warning (file, line, column) and its cell is emptied."""
    frame = items.frame
    if "image_url" not in frame.columns or not len(frame):
        return {}, []
    base = root.resolve()
    media: dict[str, MediaFile] = {}
    problems: list[Problem] = []
    urls = frame["image_url"].to_numpy(dtype=object).copy()
    for i in np.flatnonzero([is_local_path(v) for v in urls]):
        value = str(urls[i]).strip()
        path = (base / value).resolve()
        found = media_file(path) if path.is_relative_to(base) else "points outside the store directory"
        if isinstance(found, MediaFile):
            media[found.name] = found
            urls[i] = MEDIA_PREFIX + found.name
            continue
        urls[i] = ""
        problems.append(Problem(items.file, None if items.lines is None else int(items.lines[i]), "image_url",
                                f"image_url {value!r} {found}; the item is shown without an image",
                                severity="warning", table="items", row=int(items.rows[i]), reason="bad image"))
    frame["image_url"] = urls
    return media, problems
