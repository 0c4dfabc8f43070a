"""Make a bundled card's recipe say what its run used: the input size, the learning rate and weight decay.

Cards written before 2026-12-07 recorded ``weight_decay: null`` (AdamW's default 0.01 was used) and,
for the first two spiking runs, ``image_size_px: 224`` (an unused ImageFolder default; the models take
32 px). This rewrites the recipe only, checks the weights are untouched, and says so on the card
(``card_amended``). Usage: ``.venv/bin/python checkpoints/amend_cards.py FILE.pt ...``

Runs resumed in another precision before the trainer kept a history (2026-12-07: the CORnet pair, bf16 on a CPU
with AMX, then fp32 on one without) have a card naming only the last session's precision:
``--precision-steps bf16:1 fp32:9617 FILE.pt`` writes which steps ran in which, on the card and, for a
``checkpoint_last.pt`` still in training, in its state's history, so the finished card says it too.
"""

import argparse
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import torch

from topoanalysis.models.checkpoints import load_checkpoint, read_checkpoint_file, save_checkpoint
from topoanalysis.training.optimizers import optimizer_settings
from topoanalysis.training.provenance import by_steps


def amend(path: Path, precision_steps: list[tuple[str, int]] | None = None) -> list[str]:
    model, spec = load_checkpoint(path)
    stored = read_checkpoint_file(path)
    before, train_state = stored["state_dict"], stored.get("train_state")
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
    if precision_steps:
        history = [{"first_step": first, "precision": precision, "hardware": card.get("hardware", "")}
                   for precision, first in precision_steps]
        spans = by_steps(history, "precision", int(card["steps"]))
        if card.get("precision") != spans:
            changes.append(f"precision {card.get('precision')} -> {spans} (the precision of each session)")
            card["precision"] = spans
        if train_state is not None:
            train_state["history"] = history
    if changes:
        card["recipe"] = json.dumps(recipe, sort_keys=True)
        if train_state is None:  # a run still in training writes its card anew from the state's history
            card["card_amended"] = f"{date.today()}, card only (weights untouched): " + "; ".join(changes)
        save_checkpoint(path, model, replace(spec, provenance=card), train_state=train_state)
        after = read_checkpoint_file(path)["state_dict"]
        assert all(torch.equal(before[key], after[key]) for key in before), f"{path}: weights changed"
    return changes


def _precision_step(text: str) -> tuple[str, int]:
    precision, _, first = text.partition(":")
    return precision, int(first)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--precision-steps", nargs="+", type=_precision_step, default=None,
                        metavar="PRECISION:FIRST_STEP", help="e.g. bf16:1 fp32:9617")
    args = parser.parse_args()
    for path in args.files:
        print(path, "; ".join(amend(path, args.precision_steps)) or "unchanged")
