#!/usr/bin/env bash
# Retrain the shipped checkpoints, one after another (about 10 minutes each on 2 CPU cores).
#   scripts/train_zoo.sh                 every architecture
#   scripts/train_zoo.sh unet fcn8s      only these
# Each checkpoint card records the exact command of its own run.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_ALBUMENTATIONS_UPDATE=1
PY=${PY:-.venv/bin/python}
MODELS=${*:-fcn32s fcn16s fcn8s unet deeplabv3 deeplabv3plus segformer fastscnn lraspp bisenet espnet liteseg dfanet deeplabv3mg transunet setr swinunet}
# FCN-32s predicts from a stride-32 score map: at 96 px that is 3×3 cells (0.27 mIoU after 2.4k steps),
# at 192 px (6×6) it passed 0.8 in 4.3k steps. The whole FCN family is trained at 192 px, so that its
# three members compare fairly; Fast-SCNN (stride 8 and 32 branches) was trained at 128 px.
size_of() { case "$1" in fcn32s|fcn16s|fcn8s) echo 192 ;; fastscnn) echo 128 ;; *) echo 96 ;; esac; }
COMMON=(--batch-size 8 --epochs "${EPOCHS:-40}" --steps-per-epoch 100 --lr "${LR:-0.003}" --loss "${LOSS:-ce}" --augment "${AUGMENT:-light}"
        --time-budget "${BUDGET:-600}" --threads "${THREADS:-2}")
for model in $MODELS; do
    echo "== $model"
    "$PY" -m segdemo.train --model "$model" --size "${SIZE:-$(size_of "$model")}" "${COMMON[@]}" --out "checkpoints/$model"
done
