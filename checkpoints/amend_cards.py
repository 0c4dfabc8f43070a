"""Make a bundled card's recipe say what its run used: the input size, the learning rate and weight decay.

Cards written before 2026-12-07 recorded ``weight_decay: null`` (AdamW's default 0.01 was used) and,
for the first two spiking runs, ``image_size_px: 224`` (an unused ImageFolder default; the models take
32 px). This rewrites the recipe only, checks the weights are untouched, and says so on the card
(``card_amended``). Usage: ``.venv/bin/python checkpoints/amend_cards.py FILE.pt ...``
"""

import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import torch

from topoanalysis.models.checkpoints import load_checkpoint, read_checkpoint_file, save_checkpoint
from topoanalysis.training.optimizers import optimizer_settings


def amend(path: Path) -> list[str]:
    model, spec = load_checkpoint(path)
    before = read_checkpoint_file(path)["state_dict"]
    card = dict(spec.provenance)
    recipe = json.loads(card["recipe"])
    changes = []
    if recipe.get("image_size_px") != spec.input_size_px:
        changes.append(f"image_size_px {recipe.get('image_size_px')} -> {spec.input_size_px} (the input size used)")
        recipe["image_size_px"] = spec.input_size_px
    for key, value in optimizer_settings(recipe["optimizer"], recipe.get("lr"), recipe.get("weight_decay")).items():
        if recipe.get(key) != value:
            changes.append(f"{key} {recipe.get(key)} -> {value} (the {recipe['optimizer']} default the run used)")
            recipe[key] = value
    if changes:
        card["recipe"] = json.dumps(recipe, sort_keys=True)
        card["card_amended"] = f"{date.today()}, recipe only (weights untouched): " + "; ".join(changes)
        save_checkpoint(path, model, replace(spec, provenance=card))
        after = read_checkpoint_file(path)["state_dict"]
        assert all(torch.equal(before[key], after[key]) for key in before), f"{path}: weights changed"
    return changes


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(name, "; ".join(amend(Path(name))) or "unchanged")
