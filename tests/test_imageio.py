"""Every odd file a student may upload becomes RGB uint8 or a clear InputError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from segdemo import imageio
from segdemo.errors import InputError


def _png_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_exif_orientation_is_applied():
    # A 32x16 (landscape) JPEG tagged "rotate 90 CW" (orientation 6) must come out 16x32 (portrait).
    img = Image.new("RGB", (32, 16), (10, 20, 30))
    img.paste((255, 0, 0), (0, 0, 8, 8))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = imageio.load_image(_png_bytes(img, "JPEG", exif=exif, quality=100)).array
    assert out.shape == (32, 16, 3)
    # Orientation 6: the red top-left block moves to the top-right.
    assert out[3, 12, 0] > 200 and out[3, 3, 0] < 100


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "1", "CMYK"])
def test_modes_become_rgb(mode):
    img = Image.new("RGB", (5, 3), (200, 100, 50)).convert(mode)
    out = imageio.load_image(_png_bytes(img, "TIFF" if mode == "CMYK" else "PNG")).array
    assert out.shape == (3, 5, 3) and out.dtype == np.uint8


def test_transparent_pixels_become_white():
    img = Image.new("RGBA", (2, 2), (0, 0, 0, 0))
    assert (imageio.load_image(_png_bytes(img)).array == 255).all()


def test_16_bit_png_is_rescaled():
    arr = np.array([[0, 65535], [257 * 100, 257 * 200]], dtype=np.uint16)
    out = imageio.load_image(_png_bytes(Image.fromarray(arr))).array
    assert out[..., 0].tolist() == [[0, 255], [100, 200]]


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (4, 4), c) for c in [(255, 0, 0), (0, 0, 255)]]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = imageio.load_image(buf.getvalue()).array
    assert out[0, 0, 0] > 200 and out[0, 0, 2] < 50


def test_large_image_is_downscaled_with_notice():
    loaded = imageio.load_image(np.zeros((300, 2000, 3), np.uint8), max_side=1000)
    assert loaded.array.shape == (150, 1000, 3) and loaded.resized
    assert loaded.original_size == (2000, 300)
    assert loaded.notices[0][0] == "common.notice_resized"


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_large_jpeg_is_decoded_at_a_reduced_scale_then_resized_exactly(orientation):
    """A 4000×3000 photo for a 1024 longest side: libjpeg decodes it at 1/2 (2000×1500, the smallest scale
    whose sides stay ≥ 1024×768; 1/4 would give 1000×750), then the box filter gives 1024×768. The picture
    is the full decode's within a few grey levels; the notice still names the file's size (turned by EXIF)."""
    rng = np.random.default_rng(0)
    smooth = np.asarray(Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).resize(
        (4000, 3000), Image.Resampling.BICUBIC))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _png_bytes(Image.fromarray(smooth), "JPEG", exif=exif, quality=92)
    assert imageio.open_image(data, max_side=1024).size == (2000, 1500)
    assert imageio.open_image(data).size == (4000, 3000)  # no max_side: the full picture
    loaded = imageio.load_image(data, max_side=1024)
    turned = orientation == 6
    assert loaded.array.shape == ((1024, 768, 3) if turned else (768, 1024, 3)) and loaded.resized
    assert loaded.original_size == ((3000, 4000) if turned else (4000, 3000))
    assert loaded.notices == [("common.notice_resized", {"width": loaded.original_size[0],
                                                          "height": loaded.original_size[1],
                                                          "new_width": loaded.array.shape[1],
                                                          "new_height": loaded.array.shape[0]})]
    full = imageio.to_rgb_array(imageio.open_image(data))
    reference = np.asarray(Image.fromarray(full).resize(loaded.array.shape[1::-1], Image.Resampling.BOX))
    assert np.abs(loaded.array.astype(int) - reference).mean() < 1.5


def test_the_reduced_decode_leaves_the_box_filter_at_least_one_and_a_half_pixels_per_pixel():
    """For a 1024 longest side a 2050×1538 JPEG is decoded whole (half its size, 1025, would leave the box
    filter a 1.001× step that shifts pixels instead of averaging them): exactly the full decode's result. A
    4100×3075 one is decoded at 1/2, 2050×1538, then averaged 2:1. An MPO (a phone's JPEG carrying a second
    picture) is decoded at a reduced scale too."""
    rng = np.random.default_rng(1)
    texture = Image.fromarray(rng.integers(0, 256, (40, 53, 3), dtype=np.uint8))
    for size, decoded in (((2050, 1538), (2050, 1538)), ((4100, 3075), (2050, 1538))):
        data = _png_bytes(texture.resize(size, Image.Resampling.BICUBIC), "JPEG", quality=92)
        assert imageio.open_image(data, max_side=1024).size == decoded
        loaded = imageio.load_image(data, max_side=1024).array
        full = imageio.to_rgb_array(imageio.open_image(data))
        reference = np.asarray(Image.fromarray(full).resize((1024, 768), Image.Resampling.BOX))
        difference = np.abs(loaded.astype(int) - reference)
        if decoded == size:
            assert np.array_equal(loaded, reference)
        else:
            assert difference.mean() < 1.5 and np.percentile(difference, 99) <= 6
    buffer = io.BytesIO()
    picture = texture.resize((4000, 3000), Image.Resampling.BICUBIC)
    picture.save(buffer, "MPO", save_all=True, append_images=[picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    assert imageio.open_image(buffer.getvalue(), max_side=1024).size == (2000, 1500)
    assert imageio.load_image(buffer.getvalue(), max_side=1024).array.shape == (768, 1024, 3)


def test_one_pixel_image_loads():
    assert imageio.load_image(_png_bytes(Image.new("RGB", (1, 1)))).array.shape == (1, 1, 3)


@pytest.mark.parametrize(
    "payload, key",
    [
        (b"", "err.not_image"),
        (b"this is text, not a PNG", "err.not_image"),
    ],
)
def test_non_images_are_refused(payload, key):
    with pytest.raises(InputError) as info:
        imageio.load_image(payload)
    assert info.value.key == key


def test_truncated_jpeg_is_refused():
    data = _png_bytes(Image.effect_noise((256, 256), 60).convert("RGB"), "JPEG")
    with pytest.raises(InputError) as info:
        imageio.load_image(data[: len(data) // 2])
    assert info.value.key == "err.unreadable_image"


def test_decompression_bomb_is_refused(tmp_path):
    # A tiny file that declares 20000x20000 pixels: refused before decoding.
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(path)
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError) as info:
        imageio.load_image(path)
    assert info.value.key == "err.image_too_large_mp" and "bomb.png" in str(info.value)
    assert "400 megapixels" in str(info.value)  # regression: the message said "?×? pixels"


def test_masks_palette_index_npy(tmp_path):
    idx = np.array([[0, 1], [2, 255]], dtype=np.uint8)
    pal = Image.fromarray(idx, mode="L").convert("P")
    pal.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [255] * (3 * 253))
    Image.fromarray(idx).save(tmp_path / "p.png")
    np.save(tmp_path / "m.npy", idx.astype(np.int32))
    for source in [tmp_path / "p.png", _png_bytes(pal), tmp_path / "m.npy"]:
        assert imageio.load_mask(source).tolist() == idx.tolist()


def test_mask_16_bit_keeps_large_labels():
    arr = np.array([[0, 300]], dtype=np.uint16)
    assert imageio.load_mask(_png_bytes(Image.fromarray(arr))).tolist() == [[0, 300]]


def test_colour_mask_needs_palette():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (128, 0, 0)
    with pytest.raises(InputError) as info:
        imageio.load_mask(_png_bytes(Image.fromarray(rgb)))
    assert info.value.key == "err.mask_needs_palette"


def test_npy_must_be_2d_integer(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((2, 2), np.float32))
    with pytest.raises(InputError):
        imageio.load_mask(tmp_path / "f.npy")
