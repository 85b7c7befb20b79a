"""Synthetic scenes, the folder dataset (round trip, palette, binary and bad cases) and palettes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from segdemo.data import NUM_CLASSES, SegmentationFolder, SynthScenes, export, main, render_scene
from segdemo.errors import InputError
from segdemo.palette import (
    IGNORE_COLOR,
    SCENE_PALETTE,
    colorize,
    decode_color_mask,
    full_palette,
    overlay,
    scene_classes,
    voc_palette,
)


@pytest.mark.parametrize("size", [32, 97, 128])
def test_scene_is_deterministic_by_seed_and_index(size):
    a, b = render_scene(3, 7, size), render_scene(3, 7, size)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.instances, b.instances)
    assert a.image.shape == (size, size, 3) and a.image.dtype == np.uint8
    assert a.mask.shape == (size, size) and a.mask.dtype == np.uint8


@pytest.mark.parametrize("task", ["shapes", "easy"])
def test_objects_drawn_in_their_box_equal_objects_drawn_over_the_whole_image(monkeypatch, task):
    from segdemo import data

    cases = [(seed, i, size) for seed in (0, 7) for i in range(6) for size in (33, 96, 256)]
    boxed = [data.render_scene(*case, task) for case in cases]
    monkeypatch.setattr(data, "_REACH", 10.0)  # every box is the whole image
    for scene, case in zip(boxed, cases, strict=True):
        whole = data.render_scene(*case, task)
        for field in ("image", "mask", "instances", "labels"):
            np.testing.assert_array_equal(getattr(scene, field), getattr(whole, field))


def test_a_cached_set_renders_each_scene_once_and_the_same(monkeypatch):
    from segdemo import data

    data._rendered.cache_clear()
    calls = []
    real = data.render_scene
    monkeypatch.setattr(data, "render_scene", lambda *a: calls.append(a) or real(*a))
    cached = data.SynthScenes(4, size=48, seed=123, cache=True)
    for _ in range(3):
        first = [cached[i] for i in range(4)]
    assert len(calls) == 4  # a validation set read at every validation: drawn once
    plain = data.SynthScenes(4, size=48, seed=123)
    for (image, mask), (image2, mask2) in zip(first, (plain[i] for i in range(4)), strict=True):
        assert torch.equal(image, image2) and torch.equal(mask, mask2)
    assert len(calls) == 8  # the plain set draws every time


def test_different_seeds_and_indices_differ():
    base = render_scene(0, 0, 64)
    assert not np.array_equal(base.image, render_scene(1, 0, 64).image)
    assert not np.array_equal(base.image, render_scene(0, 1, 64).image)


def test_same_scene_at_every_size():
    # Scenes are drawn in coordinates relative to the image side: downscaling the big mask
    # (nearest) matches the small one almost everywhere (only boundary pixels may differ).
    small, big = render_scene(5, 2, 64).mask, render_scene(5, 2, 256).mask
    agree = (big[2::4, 2::4] == small).mean()
    assert agree > 0.97


def test_classes_cover_all_shapes_and_instances_agree_with_mask():
    masks, found = [], set()
    for i in range(40):
        s = render_scene(0, i, 64)
        masks.append(s.mask)
        found |= set(np.unique(s.mask).tolist())
        ids = np.unique(s.instances)
        for obj in ids[ids > 0]:  # every object id has exactly its class under it
            assert set(np.unique(s.mask[s.instances == obj]).tolist()) == {s.labels[obj - 1]}
        np.testing.assert_array_equal(s.instances == 0, s.mask == 0)
    assert found == set(range(NUM_CLASSES))
    assert NUM_CLASSES >= 5


def test_colour_does_not_give_the_class_away():
    # The mean colour of each class over many scenes is close to grey: colour alone cannot classify.
    sums, counts = np.zeros((NUM_CLASSES, 3)), np.zeros(NUM_CLASSES)
    for i in range(60):
        s = render_scene(1, i, 48)
        np.add.at(sums, s.mask.ravel(), s.image.reshape(-1, 3).astype(float))
        counts += np.bincount(s.mask.ravel(), minlength=NUM_CLASSES)
    means = sums / counts[:, None]
    assert np.ptp(means, axis=0).max() < 40  # out of 255


def test_dataset_items_and_transform():
    ds = SynthScenes(4, size=40, seed=2)
    image, mask = ds[1]
    assert image.shape == (3, 40, 40) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert mask.shape == (40, 40) and mask.dtype == torch.int64
    flipped = SynthScenes(4, size=40, seed=2, transform=lambda image, mask: {"image": image[:, ::-1],
                                                                            "mask": mask[:, ::-1]})
    _, mask_f = flipped[1]
    torch.testing.assert_close(mask_f, mask.flip(-1))
    with pytest.raises(IndexError):
        ds.render(4)


def test_render_scene_rejects_bad_arguments():
    with pytest.raises(ValueError, match="size"):
        render_scene(0, 0, 4)
    with pytest.raises(ValueError, match="non-negative"):
        render_scene(-1, 0, 32)


def test_export_round_trip(tmp_path):
    export(tmp_path, 5, size=48, seed=4, instances=True)
    # Regression: a 6-colour palette made Pillow write 4-bit PNGs, so label 255 came back as 15.
    assert len(Image.open(tmp_path / "masks" / "00000.png").getpalette()) == 768
    assert sorted(p.name for p in (tmp_path / "masks").iterdir())[:2] == ["00000.png", "00001.png"]
    assert Image.open(tmp_path / "masks" / "00000.png").mode == "P"
    folder = SegmentationFolder(tmp_path / "images", tmp_path / "masks")
    assert len(folder) == 5
    for i in range(5):
        image, mask = folder[i]
        expected = render_scene(4, i, 48)
        torch.testing.assert_close(mask, torch.from_numpy(expected.mask.astype(np.int64)))
        torch.testing.assert_close(image, torch.from_numpy(expected.image).permute(2, 0, 1).float() / 255)
    instances = np.asarray(Image.open(tmp_path / "instances" / "00003.png"))
    np.testing.assert_array_equal(instances, render_scene(4, 3, 48).instances)


def test_export_cli(tmp_path, capsys):
    assert main(["export", str(tmp_path / "out"), "--count", "2", "--size", "32"]) == 0
    assert "wrote 2 scenes" in capsys.readouterr().out
    assert len(list((tmp_path / "out" / "images").glob("*.png"))) == 2


def _pair(tmp_path, mask: np.ndarray, name="a", image_suffix=".jpg", mask_suffix=".png"):
    (tmp_path / "img").mkdir(exist_ok=True)
    (tmp_path / "msk").mkdir(exist_ok=True)
    h, w = mask.shape
    Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(tmp_path / "img" / f"{name}{image_suffix}")
    if mask_suffix == ".npy":
        np.save(tmp_path / "msk" / f"{name}.npy", mask)
    else:
        Image.fromarray(mask).save(tmp_path / "msk" / f"{name}{mask_suffix}")
    return tmp_path / "img", tmp_path / "msk"


def test_folder_pairs_by_stem_not_position(tmp_path):
    # The course sorted two lists and zipped them: "b.jpg" would pair with "a.png" after a gap.
    mask_a = np.zeros((8, 8), np.uint8)
    mask_b = np.full((8, 8), 2, np.uint8)
    _pair(tmp_path, mask_a, "b")  # names chosen so sorted positions would mismatch
    images, masks = _pair(tmp_path, mask_b, "a")
    folder = SegmentationFolder(images, masks, mask_mode="index")
    assert [p[0].stem for p in folder.pairs] == ["a", "b"]
    assert int(folder[0][1].max()) == 2 and int(folder[1][1].max()) == 0


def test_folder_binary_masks_and_ignore(tmp_path):
    binary = np.zeros((6, 6), np.uint8)
    binary[:3] = 255
    images, masks = _pair(tmp_path, binary)
    assert set(SegmentationFolder(images, masks)[0][1].unique().tolist()) == {0, 1}
    # As an index mask the same 255 is the ignore label and stays 255.
    assert set(SegmentationFolder(images, masks, mask_mode="index")[0][1].unique().tolist()) == {0, 255}


def test_folder_index_mask_keeps_255_as_ignore(tmp_path):
    mask = np.array([[0, 1, 2], [3, 255, 0]], np.uint8)
    images, masks = _pair(tmp_path, mask)
    np.testing.assert_array_equal(SegmentationFolder(images, masks)[0][1].numpy(), mask)


def test_folder_palette_png_and_npy(tmp_path):
    mask = np.array([[0, 1], [2, 255]], np.uint8)
    img = Image.fromarray(mask)
    img.putpalette(full_palette(SCENE_PALETTE).ravel().tolist())
    images, masks = _pair(tmp_path, mask)
    img.save(masks / "a.png")
    np.testing.assert_array_equal(SegmentationFolder(images, masks)[0][1].numpy(), mask)
    (masks / "a.png").unlink()
    np.save(masks / "a.npy", mask.astype(np.int64))
    np.testing.assert_array_equal(SegmentationFolder(images, masks)[0][1].numpy(), mask)


def test_folder_bad_cases_name_the_file(tmp_path):
    images, masks = _pair(tmp_path, np.zeros((4, 4), np.uint8), "a")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(images / "lonely.png")
    with pytest.raises(InputError, match="lonely.png") as info:
        SegmentationFolder(images, masks)
    assert info.value.key == "err.folder_unpaired"
    (images / "lonely.png").unlink()

    Image.fromarray(np.zeros((5, 4), np.uint8)).save(masks / "a.png")
    with pytest.raises(InputError, match="a.png") as info:
        SegmentationFolder(images, masks)[0]
    assert info.value.key == "err.folder_size_mismatch"

    (masks / "a.png").write_bytes(b"not a png at all")
    with pytest.raises(InputError):
        SegmentationFolder(images, masks)[0]
    with pytest.raises(InputError, match="no folder"):
        SegmentationFolder(tmp_path / "nope", masks)
    with pytest.raises(ValueError, match="mask_mode"):
        SegmentationFolder(images, masks, mask_mode="rgb")


def test_voc_palette_known_colours():
    palette = voc_palette()
    assert palette.shape == (256, 3)
    assert palette[1].tolist() == [128, 0, 0]
    # index 1 = 0b001 → R top bit; 15 = 0b001_111 → all three top bits, then R's second bit
    assert palette[0].tolist() == [0, 0, 0] and palette[2].tolist() == [0, 128, 0]
    assert palette[15].tolist() == [192, 128, 128]  # person
    assert palette[20].tolist() == [0, 64, 128]  # tv/monitor
    assert len({tuple(c) for c in palette[:21].tolist()}) == 21
    assert palette[255].tolist() == [224, 224, 192]


def test_colorize_overlay_and_decode_round_trip():
    mask = np.array([[0, 1, 2], [5, 255, 3]])
    rgb = colorize(mask, SCENE_PALETTE)
    assert rgb[0, 1].tolist() == list(SCENE_PALETTE[1])
    assert tuple(rgb[1, 1]) == IGNORE_COLOR
    np.testing.assert_array_equal(decode_color_mask(rgb, SCENE_PALETTE), mask)
    image = np.full((2, 3, 3), 200, np.uint8)
    np.testing.assert_array_equal(overlay(image, mask, SCENE_PALETTE, alpha=0.0), image)
    np.testing.assert_array_equal(overlay(image, mask, SCENE_PALETTE, alpha=1.0), rgb)
    half = overlay(image, mask, SCENE_PALETTE, 0.5, skip_background=True)
    np.testing.assert_array_equal(half[0, 0], image[0, 0])
    assert half[0, 1].tolist() == [round((200 + c) / 2 + 1e-9) for c in SCENE_PALETTE[1]]
    with pytest.raises(InputError, match=r"\(1, 2, 3\)"):
        decode_color_mask(np.array([[[1, 2, 3]]], np.uint8), SCENE_PALETTE)
    with pytest.raises(ValueError, match="alpha"):
        overlay(image, mask, SCENE_PALETTE, 1.5)


def test_scene_classes_shape():
    classes = scene_classes()
    assert len(classes["names"]) == len(classes["names_zh"]) == len(classes["palette"]) == NUM_CLASSES
    assert 0 not in classes["things"]


def test_to_hex():
    from segdemo.palette import to_hex

    assert to_hex((230, 159, 0)) == "#e69f00" and to_hex(np.array([0, 0, 255], np.uint8)) == "#0000ff"


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.55, 1.0])
def test_fixed_point_overlay_matches_the_float_blend(alpha):
    """The lookup-table blend is within one grey level of image·(1−α) + colour·α, exact at α = 0 and 1."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    mask = rng.integers(0, len(SCENE_PALETTE), (40, 50))
    palette = np.asarray(SCENE_PALETTE, np.float64)
    expected = np.clip(image * (1 - alpha) + palette[mask] * alpha + 0.5, 0, 255).astype(np.uint8)
    got = overlay(image, mask, SCENE_PALETTE, alpha)
    assert got.dtype == np.uint8 and got.shape == image.shape
    assert np.abs(got.astype(int) - expected).max() <= (0 if alpha in (0.0, 1.0) else 1)


def test_overlay_is_the_fixed_point_formula_for_every_pair_of_bytes_and_every_weight():
    """(image·(256−a) + colour·a + 128) >> 8, worked out in int64, for all 256 × 256 (image, colour) bytes and
    all 257 weights a: OpenCV's float blend with its small γ must round every tie up, like the formula."""
    grey = np.arange(256, dtype=np.int64)
    image = np.repeat(grey[:, None], 256, axis=1)  # row i: image byte i
    mask = np.repeat(grey[None, :], 256, axis=0)  # column c: class c, whose colour is (c, c, c)
    palette = np.repeat(grey[:, None], 3, axis=1).astype(np.uint8)
    picture = np.repeat(image[..., None], 3, axis=2).astype(np.uint8)
    for a in range(257):
        expected = (image * (256 - a) + mask * a + 128) >> 8
        got = overlay(picture, mask, palette, a / 256)
        assert np.array_equal(got[..., 0], expected) and np.array_equal(got[..., 2], expected), a


def test_folder_auto_decides_binary_once_for_the_whole_data_set(tmp_path):
    """Tiles of one 0/255 membrane mask: an all-cell tile {255}, an all-membrane tile {0} and a mixed one
    {0, 255}. Decided per file, the first came out all "ignore" (255); decided per data set, all are 0/1."""
    tiles = {"t0": np.full((4, 4), 255, np.uint8), "t1": np.zeros((4, 4), np.uint8),
             "t2": np.array([[0, 255] * 2] * 4, np.uint8)}
    for name, tile in tiles.items():
        images, masks = _pair(tmp_path, tile, name)
    folder = SegmentationFolder(images, masks)
    assert folder.binary
    assert [folder[i][1].unique().tolist() for i in range(3)] == [[1], [0], [0, 1]]
    assert folder[2][1].sum().item() == 8  # 8 foreground pixels of 16, counted by hand


def test_folder_auto_keeps_index_masks_when_one_mask_has_another_label(tmp_path):
    # A CamVid-like set: labels 0..2 and 255 as void. One tile happens to hold only 0 and 255: still void.
    _pair(tmp_path, np.array([[0, 255], [255, 0]], np.uint8), "a")
    images, masks = _pair(tmp_path, np.array([[0, 1], [2, 255]], np.uint8), "b")
    folder = SegmentationFolder(images, masks)
    assert not folder.binary
    assert folder[0][1].tolist() == [[0, 255], [255, 0]]


def test_folder_auto_without_any_255_is_not_binary(tmp_path):
    images, masks = _pair(tmp_path, np.zeros((3, 3), np.uint8))
    assert not SegmentationFolder(images, masks).binary
    assert SegmentationFolder(images, masks, mask_mode="binary").binary
