#!/usr/bin/env bash
# Retrain the shipped checkpoints, one after another (about 10 minutes each on 2 CPU cores).
#   scripts/train_zoo.sh                 every architecture
#   scripts/train_zoo.sh unet fcn8s      only these
# Each checkpoint card records the exact command of its own run.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_ALBUMENTATIONS_UPDATE=1
PY=${PY:-.venv/bin/python}
MODELS=${*:-fcn32s fcn16s fcn8s unet deeplabv3 deeplabv3plus segformer fastscnn lraspp}
COMMON=(--size "${SIZE:-96}" --batch-size 8 --epochs "${EPOCHS:-40}" --steps-per-epoch 100 --lr "${LR:-0.003}" --loss "${LOSS:-ce}" --augment "${AUGMENT:-light}"
        --time-budget "${BUDGET:-600}" --threads "${THREADS:-2}")
for model in $MODELS; do
    echo "== $model"
    "$PY" -m segdemo.train --model "$model" "${COMMON[@]}" --out "checkpoints/$model"
done
