"""checkpoints/train_bundled.sh keeps TDANN's fair protocol: a dry run with a stand-in ``topoanalysis`` that
logs its arguments shows each topographic model trained with exactly its baseline's command (recipe, seed,
positions, note) but for alpha and beta, on positions swap-optimised on that family's own donor."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "checkpoints" / "train_bundled.sh"
STAND_IN = """#!/usr/bin/env bash
printf '%s\\0' "$@" >> "$LOG"; printf '\\n' >> "$LOG"
out=""; prev=""
for arg in "$@"; do if [[ $prev == --out ]]; then out=$arg; fi; prev=$arg; done
case $1 in
  train) mkdir -p "$out"; touch "$out/model.pt";;
  swap-positions) touch "$out";;
  info) echo "content sha256   abc123";;
esac
"""
PAIRS = [("baseline", "topo_a05b05", "0.5"), ("ann_baseline", "ann_topo_a05", None),
         ("ann_baseline_seed1", "ann_topo_a05_seed1", None), ("cornet_baseline", "cornet_topo_a05b05", "0.5"),
         ("spikformer_baseline", "spikformer_topo_a05b05", "0.5")]


def _dry_run(root: Path, only: str = "") -> list[list[str]]:
    (root / "checkpoints" / "resume").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "checkpoints" / SCRIPT.name)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("topoanalysis", STAND_IN), ("python", "#!/usr/bin/env bash\necho donor-sha\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    log = root / "calls.log"
    subprocess.run(["bash", str(root / "checkpoints" / SCRIPT.name), str(root / "runs"), only], check=True,
                   capture_output=True, text=True, timeout=60, env={**os.environ, "LOG": str(log)})
    return [line.strip("\0").split("\0") for line in log.read_text().splitlines() if line]


def _value(call: list[str], option: str) -> str:
    return call[call.index(option) + 1]


def _without(call: list[str], *options: str) -> list[str]:
    kept, skip = [], False
    for arg in call:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        else:
            kept.append(arg)
    return kept


@pytest.fixture(scope="module")
def calls(tmp_path_factory) -> dict[str, list[str]]:
    trained = {}
    for call in _dry_run(tmp_path_factory.mktemp("dry")):
        if call[0] == "train":
            trained[Path(_value(call, "--out")).name] = call
    return trained


@pytest.mark.parametrize("baseline, topographic, beta", PAIRS)
def test_a_topographic_model_differs_from_its_baseline_only_in_alpha_and_beta(calls, baseline, topographic, beta):
    base, topo = calls[baseline], calls[topographic]
    assert _without(base, "--out", "--alpha", "--beta") == _without(topo, "--out", "--alpha", "--beta")
    assert (_value(base, "--alpha"), _value(base, "--beta")) == ("0", "0")
    assert _value(topo, "--alpha") == "0.5"
    assert _value(topo, "--beta") == (beta or "0")
    assert _value(topo, "--seed") == "0" and _value(topo, "--epochs") == "15"


@pytest.mark.parametrize("family", ["cornet", "spikformer"])
def test_a_family_trains_on_its_own_donor_positions(calls, family):
    donor = calls[f"{family}_donor"]
    assert (_value(donor, "--seed"), _value(donor, "--epochs"), _value(donor, "--alpha")) == ("1", "2", "0")
    for name in (f"{family}_baseline", f"{family}_topo_a05b05"):
        assert Path(_value(calls[name], "--positions")).name == f"{family}_donor_sheets.npz"
        assert _value(calls[name], "--arch") == _value(donor, "--arch")
        assert "sha256 abc123" in _value(calls[name], "--note")


def test_one_run_trains_only_what_it_needs(tmp_path):
    trained = [Path(_value(call, "--out")).name for call in _dry_run(tmp_path, "cornet_topo_a05b05")
               if call[0] == "train"]
    assert trained == ["donor", "cornet_donor", "cornet_topo_a05b05"]
