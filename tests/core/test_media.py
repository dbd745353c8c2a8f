"""A store's own image files: checked by the loader (file, line, column), kept in the store's database by
import, replaced and pruned by the next import."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from shopsense.core.loaders import load_store_dir
from shopsense.core.media import MEDIA_PREFIX, image_type
from shopsense.core.store import Store, import_directory
from shopsense.core.validation import format_problem


def _image(path: Path, colour: str, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), colour).save(buffer, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _store_dir(root: Path, train_colour: str = "red") -> dict[str, bytes]:
    root.mkdir(parents=True, exist_ok=True)
    images = {"train": _image(root / "images" / "train.png", train_colour),
              "kite": _image(root / "images" / "kite.jpg", "blue", "JPEG")}
    (root / "images" / "notes.png").write_text("not an image")
    (root.parent / "outside.png").write_bytes(images["train"])
    (root / "items.csv").write_text(
        "item_id,title,price,image_url\n"
        "t1,Wooden train,12.5,images/train.png\n"
        "k1,Kite,8,images/kite.jpg\n"
        "x1,Missing,3,images/nowhere.png\n"
        "x2,Text file,3,images/notes.png\n"
        "x3,Escapes,3,../outside.png\n"
        "u1,Linked,4,https://cdn.example/u1.png\n")
    (root / "interactions.csv").write_text(
        "user_id,item_id,timestamp\n" + "".join(f"u{i},t1,2026-01-0{i + 1}T00:00:00Z\n" for i in range(3)))
    return images


def test_local_images_are_checked_named_by_content_and_kept_in_the_store(tmp_path: Path) -> None:
    images = _store_dir(tmp_path / "shop")
    result = load_store_dir(tmp_path / "shop")
    assert result.report.ok  # a bad image never rejects the item
    urls = dict(zip(result.store.items["item_id"], result.store.items["image_url"], strict=True))
    assert urls["t1"].startswith(MEDIA_PREFIX) and urls["t1"].endswith(".png")
    assert urls["k1"].endswith(".jpg") and urls["u1"] == "https://cdn.example/u1.png"
    assert urls["x1"] == urls["x2"] == urls["x3"] == ""
    messages = [format_problem(p) for p in result.report.problems if p.reason == "bad image"]
    assert messages == [
        "items.csv:4:image_url: image_url 'images/nowhere.png' names no file in the store directory; "
        "the item is shown without an image",
        "items.csv:5:image_url: image_url 'images/notes.png' is not a PNG, JPEG, GIF or WebP image; "
        "the item is shown without an image",
        "items.csv:6:image_url: image_url '../outside.png' points outside the store directory; "
        "the item is shown without an image"], messages
    assert {p.severity for p in result.report.problems if p.reason == "bad image"} == {"warning"}

    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        import_directory(tmp_path / "shop", store)
        train = store.media(urls["t1"].removeprefix(MEDIA_PREFIX))
        assert train is not None and train.data == images["train"] and train.content_type == "image/png"
        assert store.media(urls["k1"].removeprefix(MEDIA_PREFIX)).content_type == "image/jpeg"
        # a new picture of the train: a new name, and the old bytes are gone with the old catalog
        _store_dir(tmp_path / "shop", train_colour="green")
        import_directory(tmp_path / "shop", store)
        new = dict(zip(store.load().items["item_id"], store.load().items["image_url"], strict=True))["t1"]
        assert new != urls["t1"] and store.media(new.removeprefix(MEDIA_PREFIX)) is not None
        assert store.media(urls["t1"].removeprefix(MEDIA_PREFIX)) is None


def test_image_types_come_from_the_bytes() -> None:
    assert image_type(b"\x89PNG\r\n\x1a\n....") == ("image/png", ".png")
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("image/webp", ".webp")
    assert image_type(b"<svg onload=alert(1)>") is None  # an SVG runs scripts when opened: never served
