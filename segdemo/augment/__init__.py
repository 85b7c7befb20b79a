"""Data augmentation for segmentation: the course's pipeline, presets, a catalogue, previews and export.

The training CLI and the Augment tab share this package:
``build_pipeline("course", size=256)`` gives the albumentations Compose both use.
"""

from segdemo.augment.catalogue import (
    CATALOGUE,
    IGNORE_INDEX,
    Param,
    TransformInfo,
    geometric_names,
    transform_info,
)
from segdemo.augment.pipeline import (
    MEAN,
    PRESETS,
    STD,
    Step,
    build,
    build_pipeline,
    build_transform,
    preset_steps,
)

__all__ = [
    "CATALOGUE", "IGNORE_INDEX", "MEAN", "PRESETS", "STD", "Param", "Step", "TransformInfo",
    "build", "build_pipeline", "build_transform", "geometric_names", "preset_steps", "transform_info",
]
