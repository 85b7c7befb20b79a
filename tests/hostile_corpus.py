"""The hostile and broken upload corpus, generated (never downloaded): ``python tests/hostile_corpus.py OUT``.

Each case is a file a student (or a prankster) could upload. ``write_corpus(folder)`` writes them all and
returns ``{name: path}``; the tests send every one to every tab that takes uploads.
"""

from __future__ import annotations

import bz2
import io
import json
import struct
import sys
import zipfile
import zlib
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
    cases.update(write_amplifiers(out))
    return cases


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def lying_png(width: int = 7000, height: int = 7000) -> bytes:
    """An 87-byte grey PNG whose header claims ``width``×``height`` but whose data holds one row."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * (width + 1), 9)) + _png_chunk(b"IEND", b""))


def _patch_declared_size(data: bytes, declared: int) -> bytes:
    """Rewrite every local and central header of a zip so it declares ``declared`` uncompressed bytes."""
    buf = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = buf.find(signature)
        while start >= 0:
            buf[start + offset:start + offset + 4] = struct.pack("<I", declared)
            start = buf.find(signature, start + 4)
    return bytes(buf)


def lying_zip(path: Path, method: int, payload: int, declared: int = 100) -> Path:
    """A zip with ``gt/a.png`` and ``pred/a.png`` whose members hold ``payload`` zero bytes each but declare
    ``declared`` bytes (the sizes in both headers patched). Built in chunks: memory stays small."""
    chunk = bytes(2**24)
    if method == zipfile.ZIP_BZIP2:
        compressor = bz2.BZ2Compressor(9)
        flush = compressor.flush
    else:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        flush = compressor.flush
    body = bytearray()
    crc, left = 0, payload
    while left > 0:
        part = chunk[:min(left, len(chunk))]
        body += compressor.compress(part)
        crc = zlib.crc32(part, crc)
        left -= len(part)
    body += flush()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("gt/a.png", "pred/a.png"):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED  # written raw, relabelled below
            archive.writestr(info, bytes(body))
    data = bytearray(buffer.getvalue())
    # relabel the method (offset 8 local, 10 central) and CRC (14 local, 16 central), then the sizes
    for signature, method_at, crc_at in ((b"PK\x03\x04", 8, 14), (b"PK\x01\x02", 10, 16)):
        start = data.find(signature)
        while start >= 0:
            data[start + method_at:start + method_at + 2] = struct.pack("<H", method)
            data[start + crc_at:start + crc_at + 4] = struct.pack("<I", crc)
            start = data.find(signature, start + 4)
    path.write_bytes(_patch_declared_size(bytes(data), declared))
    return path


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_amplifiers(out: Path, zip_payload: int = 2**25) -> dict[str, Path]:
    """Tiny files built to amplify (issue 21): each costs its reader far more than its size.

    ``zip_payload`` is what each lying zip member really holds (2 GiB reproduces the issue; the tests use
    32 MiB, over every per-member limit, so the corpus builds in about a second).
    """
    out.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Path] = {}
    cases["zip_bzip2_lying_size"] = lying_zip(out / "lying_bzip2.zip", zipfile.ZIP_BZIP2, zip_payload)
    cases["zip_deflate_lying_size"] = lying_zip(out / "lying_deflate.zip", zipfile.ZIP_DEFLATED, zip_payload)
    one = np.zeros((48, 64), np.uint16)
    one[5, 7] = 3000
    cases["mask_one_pixel_3000"] = out / "label3000.png"
    cases["mask_one_pixel_3000"].write_bytes(_png(one))
    cases["png_lying_7000"] = out / "lying7000.png"
    cases["png_lying_7000"].write_bytes(lying_png(7000, 7000))
    cases["png_lying_2000"] = out / "lying2000.png"  # under the mask limit: refused as truncated
    cases["png_lying_2000"].write_bytes(lying_png(2000, 2000))
    cases["mask_zero_8000"] = out / "zero8000.png"
    cases["mask_zero_8000"].write_bytes(_png(np.zeros((8000, 8000), np.uint8)))
    cases["pipeline_elastic_100"] = out / "elastic100.json"
    cases["pipeline_elastic_100"].write_text(json.dumps(
        [{"name": "ElasticTransform", "p": 1.0, "params": {"alpha": 50.0, "sigma": 6.0}}] * 100))
    cases["pipeline_elastic_30"] = out / "elastic30.json"  # few enough steps, too much work at 16 × 512 px
    cases["pipeline_elastic_30"].write_text(json.dumps(
        [{"name": "ElasticTransform", "p": 1.0, "params": {"alpha": 50.0, "sigma": 6.0}}] * 30))
    cases["pipeline_deep_3000"] = out / "deep3000.json"
    cases["pipeline_deep_3000"].write_text("[" * 3000 + "]" * 3000)
    small = _png(np.zeros((4, 4), np.uint8))
    cases["zip_many_files"] = out / "many.zip"
    with zipfile.ZipFile(cases["zip_many_files"], "w") as archive:
        for i in range(1500):
            archive.writestr(f"gt/{i:04d}.png", small)
            archive.writestr(f"pred/{i:04d}.png", small)
    cases["files_many"] = out / "many_files"  # a folder: gt/ and pred/ with 1100 pairs, sent as a file list
    for folder in ("gt", "pred"):
        (cases["files_many"] / folder).mkdir(parents=True, exist_ok=True)
        for i in range(1100):
            (cases["files_many"] / folder / f"{i:04d}.png").write_bytes(small)
    big = np.zeros((48, 64), np.int64)
    big[3, 3] = 2**40
    cases["npy_int64_2_40"] = out / "label2_40.npy"
    np.save(cases["npy_int64_2_40"], big)
    cases["zip_npy"] = out / "npy_pairs.zip"  # a valid zip of .npy masks: must be read, not refused
    with zipfile.ZipFile(cases["zip_npy"], "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for folder in ("gt", "pred"):
            buffer = io.BytesIO()
            np.save(buffer, (np.arange(48 * 64).reshape(48, 64) % 3).astype(np.uint8), allow_pickle=False)
            archive.writestr(f"{folder}/a.npy", buffer.getvalue())
    return cases


if __name__ == "__main__":
    for name, path in write_corpus(sys.argv[1] if len(sys.argv) > 1 else "hostile").items():
        print(f"{name:28s} {path}")
