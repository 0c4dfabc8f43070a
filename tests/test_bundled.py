"""The bundled checkpoints are what checkpoints/README.md says: one fair protocol, two families."""

import json

import numpy as np
import pytest

from topoanalysis.analyses.base import ModelFile, network_family
from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.paths import CHECKPOINT_DIR

TRAINED = {  # file stem -> (family, arch, T, alpha, beta)
    "tsresnet18_cifar10_a05b05": ("spiking", "spiking_resnet18", 4, 0.5, 0.5),
    "sresnet18_cifar10_baseline": ("spiking", "spiking_resnet18", 4, 0.0, 0.0),
    "tsresnet18_cifar10_a10b10": ("spiking", "spiking_resnet18", 4, 10.0, 10.0),
    "tresnet18_cifar10_a05": ("ReLU", "resnet18", 1, 0.5, 0.0),
    "resnet18_cifar10_baseline": ("ReLU", "resnet18", 1, 0.0, 0.0),
    "tresnet18_cifar10_a05_seed1": ("ReLU", "resnet18", 1, 0.5, 0.0),
    "resnet18_cifar10_baseline_seed1": ("ReLU", "resnet18", 1, 0.0, 0.0),
    "tresnet18_cifar10_a05_seed2": ("ReLU", "resnet18", 1, 0.5, 0.0),
    "resnet18_cifar10_baseline_seed2": ("ReLU", "resnet18", 1, 0.0, 0.0),
}


@pytest.fixture(scope="module")
def specs():
    return {stem: load_checkpoint(CHECKPOINT_DIR / f"{stem}.pt")[1] for stem in TRAINED}


@pytest.mark.parametrize("stem", TRAINED)
def test_each_trained_model_has_its_family_recipe_and_full_test_set_accuracy(specs, stem):
    family, arch, timesteps, alpha, beta = TRAINED[stem]
    spec = specs[stem]
    assert network_family(ModelFile(CHECKPOINT_DIR / f"{stem}.pt")) == family
    assert (spec.arch, spec.timesteps, spec.input_size_px) == (arch, timesteps, 32)
    card = spec.provenance
    assert (card["alpha"], card["beta"], card["data"], card["epochs"]) == (alpha, beta, "cifar10", 15.0)
    assert card["test_images"] == 10_000 and 0.1 < card["test_accuracy"] < 1.0
    assert card["train_images"] == 50_000 and "separately trained position donor" in card["positions"]
    assert json.loads(card["recipe"])["seed"] == (int(stem[-1]) if "_seed" in stem else 0)


def test_every_trained_model_sits_on_the_donors_positions(specs):
    reference = specs["sresnet18_cifar10_baseline"].sheets
    for stem, spec in specs.items():
        assert list(spec.sheets) == list(reference), stem
        for layer, sheet in spec.sheets.items():
            assert np.array_equal(sheet.xy_mm, reference[layer].xy_mm), (stem, layer)


@pytest.mark.parametrize("stem", TRAINED)
def test_each_card_records_the_input_size_and_optimizer_settings_used_and_no_line_twice(specs, stem):
    spec = specs[stem]
    recipe = json.loads(spec.provenance["recipe"])
    assert (recipe["image_size_px"], recipe["lr"], recipe["weight_decay"]) == (32, 0.002, 0.01)
    lines = [line.split(":")[0].strip() for line in spec.model_card().splitlines() if line.startswith("  ")]
    keys = [line for line in lines if line and not line.startswith("layer")]
    assert len(keys) == len(set(keys)), [key for key in keys if keys.count(key) > 1]
