"""segdemo.augment: presets, alignment of image and mask, seeds, export/import round trips, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segdemo.augment import (
    CATALOGUE,
    IGNORE_INDEX,
    PRESETS,
    build,
    build_pipeline,
    geometric_names,
    preset_steps,
)
from segdemo.augment.export import load_json, steps_from_json, steps_from_text, to_json, to_python
from segdemo.errors import InputError
from segdemo.lessons import augment as augment_lesson
from segdemo.lessons.augment import augment_grid, boundaries, check_pair, draw_contours, summarize_params

# Bright, far-apart colours; black is the image fill, so it decodes to the mask's fill (255).
PAINT = np.array([[230, 30, 30], [30, 200, 30], [40, 60, 230], [240, 220, 40], [200, 40, 220]], dtype=np.uint8)


def blocks(size: int = 96) -> np.ndarray:
    """A mask of big blocks of 5 classes (values 0..4), so most pixels are far from an edge."""
    y, x = np.mgrid[:size, :size]
    return ((y * 3 // size) + (x * 2 // size) * 2 + (x > y)).clip(0, 4).astype(np.uint8) % 5


def decode(image: np.ndarray) -> np.ndarray:
    colours = np.concatenate([PAINT, [[0, 0, 0]]]).astype(np.int32)
    labels = np.concatenate([np.arange(len(PAINT)), [IGNORE_INDEX]])
    dist = ((image[:, :, None, :].astype(np.int32) - colours[None, None]) ** 2).sum(-1)
    return labels[dist.argmin(-1)]


def interior(mask: np.ndarray, radius: int = 3) -> np.ndarray:
    """Pixels at least ``radius`` pixels away from a label change (interpolated colours live near edges)."""
    edge = boundaries(mask)
    near = edge.copy()
    for _ in range(radius):
        grown = near.copy()
        grown[1:] |= near[:-1]
        grown[:-1] |= near[1:]
        grown[:, 1:] |= near[:, :-1]
        grown[:, :-1] |= near[:, 1:]
        near = grown
    return ~near


@pytest.mark.parametrize("name", geometric_names())
@pytest.mark.parametrize("seed", [0, 1])
def test_geometric_transforms_move_mask_with_image(name, seed):
    mask = blocks()
    image = PAINT[mask]
    pipeline = build([{"name": name, "p": 1.0}], size=96, normalize=False, seed=seed)
    out = pipeline(image=image, mask=mask)
    decoded = decode(out["image"])
    keep = interior(out["mask"])
    agreement = (decoded[keep] == out["mask"][keep]).mean()
    assert keep.mean() > 0.5
    assert agreement >= 0.99, f"{name}: image and mask agree on only {agreement:.2%} of interior pixels"


def test_alignment_test_catches_a_misaligned_mask():
    mask = blocks()
    out = build([{"name": "Affine", "p": 1.0, "params": {"rotate": 30.0}}], size=96, normalize=False,
                seed=0)(image=PAINT[mask], mask=mask)
    wrong = np.roll(out["mask"], 12, axis=1)  # what a mask that missed the transform would look like
    keep = interior(wrong)
    assert (decode(out["image"])[keep] == wrong[keep]).mean() < 0.9


@pytest.mark.parametrize("preset", list(PRESETS))
def test_mask_values_subset_of_input_plus_fill(preset):
    mask = blocks(64)
    mask[mask == 3] = 7  # a gap in the labels: nothing may invent 3
    image = PAINT[mask % 5]
    pipeline = build_pipeline(preset, size=64, normalize=False, seed=0)
    allowed = set(np.unique(mask)) | {IGNORE_INDEX}
    for _ in range(12):
        out = pipeline(image=image, mask=mask)
        assert out["mask"].shape == (64, 64) and out["mask"].dtype == np.uint8
        assert set(np.unique(out["mask"])) <= allowed


@pytest.mark.parametrize("name", [n for n, info in CATALOGUE.items() if not info.geometric])
def test_photometric_transforms_leave_mask_alone(name):
    mask = blocks(48)
    out = build([{"name": name, "p": 1.0}], size=48, normalize=False, seed=0)(image=PAINT[mask], mask=mask)
    np.testing.assert_array_equal(out["mask"], mask)


@pytest.mark.parametrize("normalize, dtype", [(True, np.float32), (False, np.uint8)])
def test_build_pipeline_output_size_and_dtype(normalize, dtype):
    image = np.zeros((40, 70, 3), np.uint8)
    out = build_pipeline("course", size=32, normalize=normalize, seed=0)(image=image, mask=np.zeros((40, 70), np.uint8))
    assert out["image"].shape == (32, 32, 3) and out["image"].dtype == dtype and out["mask"].shape == (32, 32)


def test_normalize_uses_imagenet_statistics():
    image = np.full((8, 8, 3), 255, np.uint8)
    out = build_pipeline("none", size=8, seed=0)(image=image, mask=np.zeros((8, 8), np.uint8))
    np.testing.assert_allclose(out["image"][0, 0], [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225],
                               rtol=1e-5)


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ValueError, match="none, light, course"):
        build_pipeline("heavy", size=32)


@pytest.mark.parametrize("step, match", [
    ({"name": "Nope"}, "unknown transform"),
    ({"name": "Affine", "params": {"rotate": 500}}, "outside"),
    ({"name": "Affine", "params": {"spin": 1}}, "no parameter"),
    ({"name": "HorizontalFlip", "p": 1.5}, r"\[0, 1\]"),
    ({"name": "OneOf", "children": []}, "at least one"),
])
def test_bad_steps_raise_value_error(step, match):
    with pytest.raises(ValueError, match=match):
        build([step], size=32)


def test_course_pipeline_structure():
    """The course's intent: Resize first, Affine with shift 0.0625 / scale ±0.2 / rotate ±45, Normalize last."""
    d = json.loads(to_json(preset_steps("course"), size=64))["transform"]["transforms"]
    names = [t["__class_fullname__"] for t in d]
    assert names[0] == "Resize" and names[-1] == "Normalize" and names.count("OneOf") == 2
    affine = d[names.index("Affine")]
    assert affine["translate_percent"]["x"] == [-0.0625, 0.0625] and affine["scale"]["x"] == [0.8, 1.2]
    assert affine["rotate"] == [-45.0, 45.0] and affine["keep_ratio"] and affine["fill_mask"] == 255
    assert d[names.index("VerticalFlip")]["p"] == 0.1
    # the course's probabilities: the affine step at 0.5, the distortions' OneOf at 0.3, the photometric one at 0.3
    assert affine["p"] == 0.5
    distort, photo = (t for t in d if t["__class_fullname__"] == "OneOf")
    assert distort["p"] == 0.3 and photo["p"] == 0.3
    assert [c["__class_fullname__"] for c in distort["transforms"]] == [
        "OpticalDistortion", "GridDistortion", "ElasticTransform"]  # ElasticTransform stands in for PiecewiseAffine
    # masks: centred nearest (cv2.INTER_NEAREST_EXACT = 6) in the resize, plain nearest (0) in the warps
    assert d[0]["mask_interpolation"] == 6
    assert all(t.get("mask_interpolation", 0) == 0 for t in d[1:] if "mask_interpolation" in t)


def test_same_seed_same_grid_and_other_seed_differs():
    mask = blocks(64)
    image = PAINT[mask]
    a = augment_grid(image, mask, preset_steps("course"), n=6, seed=3, size=64)
    b = augment_grid(image, mask, preset_steps("course"), n=6, seed=3, size=64)
    c = augment_grid(image, mask, preset_steps("course"), n=6, seed=4, size=64)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.mask, y.mask)
        assert x.applied == y.applied
    assert any(not np.array_equal(x.image, z.image) for x, z in zip(a, c, strict=True))


def test_applied_params_are_reported():
    mask = blocks(64)
    samples = augment_grid(PAINT[mask], mask, [{"name": "Affine", "p": 1.0, "params": {"rotate": 30.0}},
                                               {"name": "HorizontalFlip", "p": 0.0}], n=3, seed=0, size=64)
    for sample in samples:
        assert [name for name, _ in sample.applied] == ["Affine"]
        assert -30 <= sample.applied[0][1]["rotate"] <= 30
    assert summarize_params("X", {"matrix": np.eye(3), "factor": 2, "shape": (1, 2, 3)}) == {"factor": 2}


@pytest.mark.parametrize("preset", ["light", "course"])
def test_export_import_same_output(preset):
    steps = preset_steps(preset)
    mask = blocks(64)
    image = PAINT[mask]
    ours = build(steps, size=48, seed=7)
    namespace: dict = {}
    exec(to_python(steps, size=48), namespace)  # noqa: S102 - our own generated code
    from_code = namespace["build_pipeline"](seed=7)
    from_json = load_json(to_json(steps, size=48), seed=7)
    for _ in range(10):
        a, b, c = (p(image=image, mask=mask) for p in (ours, from_code, from_json))
        for other in (b, c):
            np.testing.assert_array_equal(a["image"], other["image"])
            np.testing.assert_array_equal(a["mask"], other["mask"])


@pytest.mark.parametrize("preset", list(PRESETS))
def test_json_round_trip_gives_same_steps(preset):
    steps = preset_steps(preset)
    assert steps_from_json(to_json(steps, size=96, normalize=False)) == (steps, 96, False)


def test_every_catalogue_transform_survives_json_round_trip():
    steps = [{"name": n, "p": 0.25, **({"params": i.defaults()} if i.params else {})} for n, i in CATALOGUE.items()]
    assert steps_from_json(to_json(steps, size=64))[0] == steps


@pytest.mark.parametrize("text, key", [
    ("not json", "err.augment_json"),
    ('{"transform": {"__class_fullname__": "Compose", "transforms": []}}', "err.augment_json"),
    (json.dumps({"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose", "p": 1.0, "transforms": [
        {"__class_fullname__": "Resize", "height": 32, "width": 32, "p": 1.0},
        {"__class_fullname__": "ChannelShuffle", "p": 0.5}]}}), "err.augment_json_unknown"),
])
def test_bad_json_gives_clear_input_error(text, key):
    with pytest.raises(InputError) as info:
        steps_from_json(text, name="p.json")
    assert info.value.key == key and "p.json" in str(info.value)


def test_steps_from_text_accepts_presets_lists_and_albumentations_json():
    assert steps_from_text("light") == preset_steps("light")
    assert steps_from_text(json.dumps([{"name": "Transpose", "p": 1.0}])) == [{"name": "Transpose", "p": 1.0}]
    assert steps_from_text(to_json(preset_steps("course"), size=64)) == preset_steps("course")
    with pytest.raises(ValueError, match="neither a preset"):
        steps_from_text("heavy")


@pytest.mark.parametrize("preset", list(PRESETS))
def test_controls_round_trip(preset):
    steps = preset_steps(preset)
    values = augment_lesson.controls_from_steps(steps)
    assert augment_lesson.steps_from_controls(augment_lesson.unflatten(augment_lesson.flatten(values))) == steps


def test_controls_group_with_one_member_keeps_its_probability():
    values = augment_lesson.default_controls() | {"group.photo.p": 0.4, "CLAHE.enabled": True}
    assert augment_lesson.steps_from_controls(values) == [{"name": "CLAHE", "p": 0.4, "params": {"clip_limit": 4.0}}]


@pytest.mark.parametrize("mask, key", [
    (np.zeros((10, 12), np.int64), "err.folder_size_mismatch"),
    (np.full((10, 10), 300, np.int64), "err.mask_labels"),
    (np.full((10, 10), -1, np.int64), "err.augment_mask_negative"),
])
def test_check_pair_rejects_bad_masks(mask, key):
    with pytest.raises(InputError) as info:
        check_pair(np.zeros((10, 10, 3), np.uint8), mask, name="m.png")
    assert info.value.key == key and "m.png" in str(info.value)


def test_contours_sit_on_label_changes():
    mask = np.zeros((8, 8), np.uint8)
    mask[:, 4:] = 1
    drawn = draw_contours(np.zeros((8, 8, 3), np.uint8), mask, color=(255, 255, 255))
    assert (drawn[:, 3:5] == 255).all() and (drawn[:, 0] == 0).all() and (drawn[:, 7] == 0).all()


def test_upload_without_mask_gets_a_checkerboard(tmp_path):
    from PIL import Image

    from segdemo.lessons.augment import load_source

    Image.fromarray(np.zeros((40, 64, 3), np.uint8)).save(tmp_path / "im.png")
    image, mask, _, notices = load_source("upload", 0, str(tmp_path / "im.png"), None)
    assert image.shape == (40, 64, 3) and set(np.unique(mask)) == {1, 2} and notices == ["augment.checkerboard"]


def test_large_upload_takes_its_mask_along(tmp_path):
    from PIL import Image

    from segdemo.lessons import augment as sources

    mask = np.zeros((1200, 1600), np.uint8)
    mask[:, 800:] = 7
    Image.fromarray(np.zeros((1200, 1600, 3), np.uint8)).save(tmp_path / "im.png")
    Image.fromarray(mask).save(tmp_path / "m.png")
    image, small, _, _ = sources.load_source("upload", 0, str(tmp_path / "im.png"), str(tmp_path / "m.png"))
    assert max(image.shape[:2]) == sources.MAX_SIDE and small.shape == image.shape[:2]
    assert set(np.unique(small)) == {0, 7}


def test_no_image_is_an_input_error():
    from segdemo.lessons.augment import load_source

    with pytest.raises(InputError) as info:
        load_source("upload", 0, None, None)
    assert info.value.key == "err.augment_no_image"


def test_samples_know_when_they_equal_the_original():
    """A flip undone by a second flip ran two transforms and changed nothing: counted as unchanged."""
    mask = blocks(64)
    image = PAINT[mask]
    twice = [{"name": "HorizontalFlip", "p": 1.0}, {"name": "HorizontalFlip", "p": 1.0}]
    for sample in augment_grid(image, mask, twice, n=2, seed=0, size=64):
        assert [name for name, _ in sample.applied] == ["HorizontalFlip", "HorizontalFlip"] and sample.unchanged
    once = augment_grid(image, mask, twice[:1], n=2, seed=0, size=64)
    assert not any(s.unchanged for s in once)
    assert all(s.unchanged and not s.applied for s in augment_grid(image, mask, [], n=2, seed=0, size=64))


def test_why_samples_come_out_identical_by_hand():
    from segdemo.augment.pipeline import untouched_probability
    from segdemo.lessons.augment import identical_fraction

    flips = [{"name": "HorizontalFlip", "p": 0.5}, {"name": "VerticalFlip", "p": 0.1}]
    assert untouched_probability(flips) == pytest.approx(0.5 * 0.9)
    group = [{"name": "OneOf", "p": 0.3, "children": [{"name": "HorizontalFlip", "p": 1.0}]}]
    assert untouched_probability(group) == pytest.approx(0.7) and untouched_probability([]) == 1.0
    assert identical_fraction([]) == 1.0 and identical_fraction([{"name": "HorizontalFlip", "p": 1.0}]) == 0.0
    # both flips, always: a 180° turn, undone only when RandomRotate90 turns twice (1 in 4): more than the
    # 0 % chance of skipping every step, which is the lesson
    undo = [{"name": "HorizontalFlip", "p": 1.0}, {"name": "VerticalFlip", "p": 1.0}, {"name": "RandomRotate90", "p": 1.0}]
    assert untouched_probability(undo) == 0.0
    assert 0.18 < identical_fraction(undo) < 0.32  # 400 draws: 0.25 ± 0.022
