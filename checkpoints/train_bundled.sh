#!/usr/bin/env bash
# Rebuild the bundled CIFAR-10 checkpoints: a non-topographic baseline (alpha = beta = 0),
# position pre-optimisation on its grating responses, and a topographic model trained from
# scratch with the same seed and recipe on those positions (METHODS 1.1).
# CPU recipe (2 cores, about an hour in all); on a GPU use --width 1 and more epochs.
# Usage: bash checkpoints/train_bundled.sh [RUNS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
ta=.venv/bin/topoanalysis
recipe=(--width 0.25 --timesteps 4 --epochs 3 --limit-per-class 4000 --batch-size 64
        --optimizer adamw --lr 2e-3 --warmup-steps 200 --seed 0)

$ta train --out "$runs/baseline" --alpha 0 --beta 0 "${recipe[@]}"
OPENBLAS_NUM_THREADS=1 $ta swap-positions --ckpt "$runs/baseline/model.pt" --out "$runs/swapped_sheets.npz" \
    --neighborhoods 2000 --steps 500 --seed 424 --write-ckpt checkpoints/sresnet18_cifar10_baseline.pt
$ta train --out "$runs/topo_a05b05" --alpha 0.5 --beta 0.5 --positions "$runs/swapped_sheets.npz" "${recipe[@]}"
cp "$runs/topo_a05b05/model.pt" checkpoints/tsresnet18_cifar10_a05b05.pt
$ta train --out "$runs/topo_a10b10" --alpha 10 --beta 10 --positions "$runs/swapped_sheets.npz" "${recipe[@]}"
cp "$runs/topo_a10b10/model.pt" checkpoints/tsresnet18_cifar10_a10b10.pt
$ta info --ckpt checkpoints/tsresnet18_cifar10_a05b05.pt
$ta info --ckpt checkpoints/tsresnet18_cifar10_a10b10.pt
$ta info --ckpt checkpoints/sresnet18_cifar10_baseline.pt
