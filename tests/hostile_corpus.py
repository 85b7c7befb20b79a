"""The hostile and broken upload corpus, generated (never downloaded): ``python tests/hostile_corpus.py OUT``.

Each case is a file a student (or a prankster) could upload. ``write_corpus(folder)`` writes them all and
returns ``{name: path}``; the tests send every one to every tab that takes uploads.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def _save(path: Path, image: Image.Image, fmt: str | None = None, **kwargs) -> Path:
    image.save(path, format=fmt, **kwargs)
    return path


def _scene() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)


def write_corpus(folder: str | Path) -> dict[str, Path]:
    """Write every case into ``folder`` and return ``{case name: path}``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(_scene())
    cases: dict[str, Path] = {}

    cases["text_named_png"] = out / "notes.png"
    cases["text_named_png"].write_text("this is a shopping list, not a PNG\n")
    jpeg = io.BytesIO()
    rgb.save(jpeg, format="JPEG", quality=90)
    cases["truncated_jpeg"] = out / "truncated.jpg"
    cases["truncated_jpeg"].write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    cases["empty_file"] = out / "empty.png"
    cases["empty_file"].write_bytes(b"")
    # A decompression bomb: a tiny PNG that claims 30000×30000 pixels (900 megapixels).
    cases["decompression_bomb"] = _save(out / "bomb.png", Image.new("1", (30000, 30000)), "PNG", optimize=True)
    cases["panorama_20000x10"] = _save(out / "panorama.png", Image.new("RGB", (20000, 10), (90, 120, 200)))
    cases["one_pixel"] = _save(out / "one_pixel.png", Image.new("RGB", (1, 1), (255, 0, 0)))
    cases["cmyk_jpeg"] = _save(out / "cmyk.jpg", rgb.convert("CMYK"), "JPEG")
    cases["png_16_bit"] = _save(out / "sixteen_bit.png",
                                Image.fromarray((np.arange(48 * 64).reshape(48, 64) * 20).astype(np.uint16)))
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    cases["animated_gif"] = _save(out / "animated.gif", frames[0], "GIF", save_all=True,
                                  append_images=frames[1:], duration=100)
    cases["rgba"] = _save(out / "rgba.png", rgb.convert("RGBA"))
    cases["grayscale"] = _save(out / "gray.png", rgb.convert("L"))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    cases["exif_rotated"] = _save(out / "exif_rotated.jpg", rgb, "JPEG", exif=exif)
    cases["webp"] = _save(out / "image.webp", rgb, "WEBP")
    cases["tiff"] = _save(out / "image.tiff", rgb, "TIFF")
    cases["bmp"] = _save(out / "image.bmp", rgb, "BMP")

    labels = np.zeros((48, 64), np.uint8)
    labels[10:30, 10:40] = 1
    cases["mask"] = _save(out / "mask.png", Image.fromarray(labels))
    too_many = labels.copy()
    too_many[0, :5] = [40, 41, 42, 43, 200]
    cases["mask_labels_out_of_range"] = _save(out / "mask_labels.png", Image.fromarray(too_many))
    cases["mask_wrong_size"] = _save(out / "mask_small.png", Image.fromarray(labels[:20, :20]))

    cases["zip_traversal"] = out / "traversal.zip"
    with zipfile.ZipFile(cases["zip_traversal"], "w") as archive:
        buffer = io.BytesIO()
        Image.fromarray(labels).save(buffer, format="PNG")
        archive.writestr("gt/a.png", buffer.getvalue())
        archive.writestr("pred/a.png", buffer.getvalue())
        archive.writestr("../../escaped.png", buffer.getvalue())
    cases["zip_bomb"] = out / "bomb.zip"
    with zipfile.ZipFile(cases["zip_bomb"], "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ("gt/a.png", "pred/a.png"):
            archive.writestr(name, b"\0" * (300 * 2**20))  # 300 MiB of zeros each, ~300 KiB compressed
    cases["over_size_limit"] = out / "huge.png"
    with open(cases["over_size_limit"], "wb") as handle:  # sparse: 30 MiB on paper, no disk used
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(30 * 2**20)
    return cases


if __name__ == "__main__":
    for name, path in write_corpus(sys.argv[1] if len(sys.argv) > 1 else "hostile").items():
        print(f"{name:28s} {path}")
