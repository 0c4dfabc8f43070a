"""A checkpoint as a Brain-Score vision model plugin folder (``topoanalysis export brainscore-plugin``).

Brain-Score finds a model as a *plugin*: a folder ``brainscore_vision/models/<name>/`` whose
``__init__.py`` registers it with ``model_registry['<identifier>'] = lambda: ...`` on one line
(Brain-Score locates a model by searching every plugin's ``__init__.py`` for that text, and skips
folders whose names start with ``_`` or ``.``), beside a ``model.py`` that builds it, a
``requirements.txt`` that its runner installs with pip before importing the plugin, and a ``test.py``
of unit tests. :func:`export_plugin` writes such a folder for a checkpoint: the checkpoint file is
copied in, ``model.py`` loads it with :func:`topoanalysis.models.checkpoints.load_checkpoint` and wraps
it with :func:`topoanalysis.brain.adapter.brain_model`, and a README says what the model is (from the
checkpoint's card) and how to submit the folder.
"""

from __future__ import annotations

import importlib.util
import keyword
import logging
import os
import re
import shutil
from pathlib import Path

from .. import __version__
from ..errors import CheckpointError, InputError
from ..outputs import check_output_folder, staged_folder
from .adapter import default_region_layer_map

logger = logging.getLogger(__name__)

PLUGIN_MARKER = "model.py"
"""The file that marks an exported plugin folder (the output marker of :mod:`topoanalysis.outputs`)."""
CHECKPOINT_FILE = "checkpoint.pt"
"""The checkpoint's name inside the plugin folder."""
ZIP_LIMIT_MB = 50
"""The size limit of a zip uploaded on brain-score.org (larger weights: ask the Brain-Score team)."""


def check_identifier(identifier: str, *, source: str = "--identifier") -> str:
    """``identifier`` if it can name a Brain-Score plugin (a Python package: ASCII letters, digits and
    underscores, not starting with a digit or an underscore, not a keyword); else an :class:`InputError`
    naming ``source`` (where the name came from) and a valid alternative."""
    name = str(identifier)
    if name.isascii() and name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_"):
        return name
    suggestion = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or "model"
    if not suggestion[0].isalpha():
        suggestion = f"model_{suggestion}"
    raise InputError(f"{source} {name!r} cannot name a Brain-Score model plugin: it must be a Python package name "
                     "(ASCII letters, digits and underscores, starting with a letter; Brain-Score skips plugin "
                     f"folders starting with '_'); pass --identifier NAME, e.g. --identifier {suggestion}",
                     parameter="identifier")


def check_requirement(requirement: str) -> str:
    """``requirement`` if it is one pip requirement line for topoanalysis (a version, a git or wheel URL)."""
    if "\n" in requirement or not re.match(r"\s*topoanalysis\b", requirement, flags=re.IGNORECASE):
        raise InputError(f"--requirement {requirement!r} is not one requirement line for topoanalysis; pass e.g. "
                         f"'topoanalysis=={__version__}', 'topoanalysis @ git+https://HOST/OWNER/topoanalysis@TAG' or "
                         "'topoanalysis @ https://HOST/topoanalysis-VERSION-py3-none-any.whl'", parameter="requirement")
    return requirement.strip()


def _registered_in_brainscore(identifier: str) -> bool:
    """Whether the installed brainscore_vision already has a model plugin registering ``identifier`` (False when
    brainscore_vision is not installed)."""
    if importlib.util.find_spec("brainscore_vision") is None:
        logger.info("brainscore_vision is not installed: not checking that the identifier is new to Brain-Score")
        return False
    from .adapter import _prepare_brainscore

    _prepare_brainscore()
    from brainscore_core.plugin_management.import_plugin import ImportPlugin

    try:
        ImportPlugin("brainscore_vision", "models", identifier)
    except AssertionError as exc:
        if "No registrations found" in str(exc):
            return False
        raise
    return True


def _load_project_checkpoint(ckpt: Path):
    """``(model, spec)`` of ``ckpt``, which must be in the toolkit's format (the plugin loads it without help)."""
    from ..models.checkpoints import FORMAT, load_checkpoint, read_checkpoint_file

    obj = read_checkpoint_file(ckpt)
    if not (isinstance(obj, dict) and obj.get("format") == FORMAT):
        raise CheckpointError(f"{ckpt} is not a topoanalysis checkpoint (a plain state dict or another format?): the "
                              "plugin loads its checkpoint with load_checkpoint alone; convert it first with "
                              "`topoanalysis import state-dict` (or `import tdann`) and export the file it writes",
                              parameter="ckpt")
    return load_checkpoint(ckpt)


def export_plugin(ckpt: str | os.PathLike, out: str | os.PathLike, *, identifier: str | None = None,
                  requirement: str | None = None) -> list[Path]:
    """Write a Brain-Score vision model plugin for checkpoint ``ckpt`` into the folder ``out``.

    Parameters
    ----------
    ckpt : path
        A checkpoint in the toolkit's format; copied into the folder as :data:`CHECKPOINT_FILE`.
    out : path
        The plugin folder: new, empty or an earlier export (replaced whole, never half-written).
    identifier : str, optional
        The model's Brain-Score identifier and package name; default the checkpoint's file stem.
    requirement : str, optional
        The ``requirements.txt`` line that installs topoanalysis; default ``topoanalysis==<this version>``
        (topoanalysis is not on PyPI: see the folder's README for a git or wheel URL).

    Returns
    -------
    list of Path
        The files written, in ``out``.
    """
    ckpt = Path(ckpt)
    if identifier is None:
        identifier = check_identifier(ckpt.stem, source="the checkpoint's file name")
    identifier = check_identifier(identifier)
    requirement = check_requirement(requirement or f"topoanalysis=={__version__}")
    out = check_output_folder(out, PLUGIN_MARKER)
    _, spec = _load_project_checkpoint(ckpt)
    if not default_region_layer_map(spec):
        raise CheckpointError(f"{ckpt} maps no layer to V1, V2, V4 or IT (its areas: "
                              f"{sorted(set(spec.layer_areas.values()))}), so Brain-Score could record nothing",
                              parameter="ckpt")
    if _registered_in_brainscore(identifier):
        raise InputError(f"the identifier {identifier!r} already names a Brain-Score model (in brainscore_vision/"
                         "models); a new model needs a new one: pass another --identifier", parameter="identifier")
    files = plugin_files(identifier, spec, source=ckpt.name, folder=out.resolve().name, requirement=requirement,
                         size_mb=ckpt.stat().st_size / 2**20)
    with staged_folder(out, PLUGIN_MARKER) as staging:
        shutil.copyfile(ckpt, staging / CHECKPOINT_FILE)
        _, copied = _load_project_checkpoint(staging / CHECKPOINT_FILE)
        if copied.content_sha256 != spec.content_sha256:
            raise CheckpointError(f"{ckpt} changed while it was copied (content sha256 {spec.content_sha256} "
                                  f"became {copied.content_sha256}); export it again", parameter="ckpt")
        for name, text in files.items():
            (staging / name).write_text(text)
    return [out / name for name in (*files, CHECKPOINT_FILE)]


def plugin_files(identifier: str, spec, *, source: str, folder: str, requirement: str,
                 size_mb: float) -> dict[str, str]:
    """The text files of the plugin folder of a checkpoint with ``spec``: ``{file name: text}``.

    For the README: ``source`` is the checkpoint's original file name, ``size_mb`` its size, and
    ``folder`` the plugin folder's name.
    """
    regions = default_region_layer_map(spec)
    values = dict(identifier=identifier, version=__version__, checkpoint=CHECKPOINT_FILE, source=source, folder=folder,
                  sha=spec.content_sha256, degrees=f"{spec.visual_degrees:g}", degrees_value=float(spec.visual_degrees),
                  size_px=spec.input_size_px,
                  timesteps=spec.timesteps, arch=spec.arch, regions=regions, requirement=requirement,
                  region_list=", ".join(f"{region} -> {layer}" for region, layer in regions.items()),
                  card=spec.model_card(), size_mb=f"{size_mb:.1f}", zip_limit=ZIP_LIMIT_MB,
                  it_note="" if "IT" in regions else " (not available here: no layer is committed to IT)")
    return {name: template.format(**values) for name, template in TEMPLATES.items()}


INIT_TEMPLATE = '''"""Brain-Score model plugin {identifier!r}: a topoanalysis checkpoint (see README.md)."""

from brainscore_vision import model_registry

from .model import get_model

model_registry['{identifier}'] = lambda: get_model('{identifier}')
'''

MODEL_TEMPLATE = '''"""The Brain-Score model {identifier!r}, built from {checkpoint} beside this file (topoanalysis).

The checkpoint is loaded with topoanalysis and wrapped as a BrainModel (topoanalysis.brain.adapter).
Regions are committed to the checkpoint's own layers:
{region_list}.
Stimuli are shown at {degrees} degrees of visual field; a recording is a layer's firing rate over the
T = {timesteps} timesteps; the probabilities task is a logistic readout of the IT layer, fitted as
Brain-Score's own model commitment fits it. Run this file to check the model with Brain-Score's
check_models (it downloads Brain-Score's public MajajHong2015 data).
"""

from pathlib import Path

from topoanalysis.brain.adapter import brain_model
from topoanalysis.errors import CheckpointError
from topoanalysis.models.checkpoints import load_checkpoint

MODEL_IDENTIFIER = '{identifier}'
CHECKPOINT = Path(__file__).resolve().parent / '{checkpoint}'
CONTENT_SHA256 = '{sha}'


def get_model_list():
    return [MODEL_IDENTIFIER]


def get_model(name):
    assert name == MODEL_IDENTIFIER, f"this plugin builds {{MODEL_IDENTIFIER!r}}, not {{name!r}}"
    model, spec = load_checkpoint(CHECKPOINT)
    if spec.content_sha256 != CONTENT_SHA256:
        raise CheckpointError(f"{{CHECKPOINT}} is not the exported checkpoint: its content sha256 is "
                              f"{{spec.content_sha256}}, not {{CONTENT_SHA256}}; export the plugin again")
    return brain_model(model, spec, identifier=name)


if __name__ == '__main__':
    from brainscore_vision.model_helpers.check_submission import check_models

    check_models.check_brain_models(__name__)
'''

REQUIREMENTS_TEMPLATE = '''# topoanalysis {version} is not on PyPI: the line below must name a source pip can reach
# (a git or wheel URL; see README.md)
{requirement}
'''

TEST_TEMPLATE = '''import pytest

import brainscore_vision


@pytest.mark.travis_slow
def test_has_identifier():
    model = brainscore_vision.load_model('{identifier}')
    assert model.identifier == '{identifier}'


@pytest.mark.travis_slow
def test_commitments():
    model = brainscore_vision.load_model('{identifier}')
    assert model.visual_degrees() == {degrees_value!r}
    assert model.region_layer_map == {regions!r}
'''

README_TEMPLATE = '''# {identifier}: a topoanalysis checkpoint as a Brain-Score model

This folder is a Brain-Score vision model plugin written by `topoanalysis export brainscore-plugin`
(topoanalysis {version}) from the checkpoint `{source}`, copied here as `{checkpoint}` ({size_mb} MB,
content sha256 `{sha}`).

## The model

A `{arch}` network run for T = {timesteps} timesteps on {size_px} px images spanning {degrees} degrees
of visual field, each of its topographic layers laid out on a cortical sheet. Its card
(`topoanalysis info --ckpt {checkpoint}`):

```text
{card}
```

As a Brain-Score `BrainModel` (`topoanalysis.brain.adapter`, built by `model.py`):

- regions are committed to the checkpoint's own layers: {region_list};
- a recording is a layer's firing rate averaged over the T timesteps, reported in every time bin
  asked for; each unit's position on its sheet is in the `tissue_x` / `tissue_y` coords (mm);
- tasks: `passive` (neural recordings) and `probabilities`{it_note}: a standardised multinomial
  logistic regression (C = 0.001) of the IT layer's rates, fitted to the fitting stimuli's
  `image_label` as Brain-Score's own model commitment does. `label` and `odd_one_out` are not
  supported, so benchmarks that need them cannot score this model.

## Installing topoanalysis

topoanalysis is not on PyPI, and Brain-Score installs `requirements.txt` with pip, so its line
(`{requirement}`) must name a source pip can reach, for example:

- a wheel: in a checkout of topoanalysis {version}, `pip wheel --no-deps -w dist .` builds
  `dist/topoanalysis-{version}-py3-none-any.whl`; publish it (e.g. as a release asset) and write
  `topoanalysis @ https://HOST/topoanalysis-{version}-py3-none-any.whl`;
- a git URL: `topoanalysis @ git+https://HOST/OWNER/topoanalysis@TAG` (a tag of version {version}).

`topoanalysis export brainscore-plugin --requirement "LINE"` writes that line for you. Brain-Score's
packages declare numpy<2, xarray<2022.6 and scikit-learn<1.6, while topoanalysis needs
xarray>=2024.1: topoanalysis's own tests run Brain-Score on numpy 2 and a new xarray, and its adapter
builds assemblies that keep their coordinates there, but if Brain-Score's runner cannot install it
beside its own pins, say so in the pull request.

## Testing it

In a checkout of https://github.com/brain-score/vision with topoanalysis installed, copy this folder
to `brainscore_vision/models/{identifier}/` and run from the checkout's root:

```bash
pytest brainscore_vision/models/{identifier}/test.py
pytest brainscore_vision/model_helpers/generic_plugin_tests.py --plugin_directory brainscore_vision/models/{identifier}
python brainscore_vision/models/{identifier}/model.py   # check_models: downloads Brain-Score's public data
```

## Submitting it to Brain-Score

- Pull request: fork https://github.com/brain-score/vision, add this folder as
  `brainscore_vision/models/{identifier}/` and open a pull request; Brain-Score's CI runs the plugin's
  tests, and once it is merged the model is scored on Brain-Score's benchmarks.
- Website: zip the folder (from the folder above it, `zip -r {folder}.zip {folder}`) and upload it at
  https://www.brain-score.org (log in, then submit a model; the layout is in Brain-Score's model
  tutorial); the upload becomes the same pull request. Uploads are limited to {zip_limit} MB: for a
  larger checkpoint, ask the Brain-Score team to host the weights.

`.topoanalysis-manifest.json` only lets a later export replace this folder; leave it out of the
submission (`zip -r {folder}.zip {folder} -x '*/.topoanalysis-manifest.json'`). To be cited,
add a `BIBTEX` string and `get_bibtex(model_identifier)` returning it to `model.py`.
'''

TEMPLATES = {"__init__.py": INIT_TEMPLATE, "model.py": MODEL_TEMPLATE, "requirements.txt": REQUIREMENTS_TEMPLATE,
             "test.py": TEST_TEMPLATE, "README.md": README_TEMPLATE}
"""Each plugin file's text, formatted by :func:`plugin_files`."""
