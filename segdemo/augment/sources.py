"""Where the Augment tab's pictures come from: a synthetic scene, or an upload (image and optional mask).

Pure numpy/PIL (no gradio): the tab calls :func:`load_source`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from segdemo.augment.preview import check_pair
from segdemo.errors import InputError

SCENES = 100
MAX_SIDE = 1024  # uploads are downscaled first: the pipeline resizes to <= 512 anyway


@functools.lru_cache(maxsize=32)
def _scene(index: int) -> tuple[np.ndarray, np.ndarray]:
    from segdemo.data import render_scene

    scene = render_scene(0, index, size=256)
    for array in (scene.image, scene.mask):
        array.setflags(write=False)  # cached and shared between requests
    return scene.image, scene.mask


def checkerboard(shape: tuple[int, int], cells: int = 8) -> np.ndarray:
    """A two-class checkerboard (labels 1 and 2) standing in for a missing mask."""
    h, w = shape
    y = np.arange(h)[:, None] * cells // max(h, 1)
    x = np.arange(w)[None, :] * cells // max(w, 1)
    return (1 + (x + y) % 2).astype(np.uint8)


def load_source(source: str, scene: int, image_path: str | None, mask_path: str | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(image, mask, palette, notice keys)`` of the chosen source.

    Raises:
        InputError: no image uploaded, unreadable files, image and mask of different sizes, labels above 255.
    """
    from segdemo.imageio import load_image, load_mask
    from segdemo.palette import SCENE_PALETTE, voc_palette

    if source == "synthetic":
        image, mask = _scene(scene)
        return image, mask, np.asarray(SCENE_PALETTE, dtype=np.uint8), []
    if not image_path:
        raise InputError("err.augment_no_image", "Upload an image first (the mask is optional).")
    loaded = load_image(image_path, max_side=MAX_SIDE)
    if not mask_path:
        mask = checkerboard(loaded.array.shape[:2])
        return loaded.array, mask, np.asarray(SCENE_PALETTE, dtype=np.uint8), ["augment.checkerboard"]
    mask = load_mask(mask_path, palette=voc_palette())
    name = Path(mask_path).name
    if loaded.resized and mask.shape == tuple(reversed(loaded.original_size)):
        from PIL import Image  # the image was downscaled: take the mask along (nearest keeps labels)

        if mask.min() >= 0 and mask.max() <= 255:
            small = Image.fromarray(mask.astype(np.uint8)).resize(loaded.array.shape[1::-1], Image.Resampling.NEAREST)
            mask = np.asarray(small)
    image, mask = check_pair(loaded.array, mask, name=name)
    return image, mask, voc_palette(), []
