"""``topoanalysis export brainscore-plugin``: the folder it writes, and Brain-Score's own generic plugin tests run on
a fresh copy of it, found and loaded through Brain-Score's ``load_model``."""

import importlib
import shutil
import sys
import types

import numpy as np
import pytest

import topoanalysis
from topoanalysis.brain.adapter import configure_brainscore
from topoanalysis.brain.plugin_export import CHECKPOINT_FILE, export_plugin
from topoanalysis.cli.main import main
from topoanalysis.outputs import MANIFEST

IDENTIFIER = "topoanalysis_tiny_export"
GENERIC_TESTS = ("test_identifier", "test_visual_degrees", "test_start_task_or_recording", "test_look_at_neural_V1",
                 "test_look_at_behavior_probabilities")
"""The tests of brainscore_vision/model_helpers/generic_plugin_tests.py (a new one there fails
:func:`test_every_generic_test_is_run_and_reaches_its_assertions` until it is added here)."""
PLUGIN_FILES = ["README.md", "__init__.py", CHECKPOINT_FILE, "model.py", "requirements.txt", "test.py"]

pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")  # Brain-Score's runner


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    _, _, path = tiny
    out = tmp_path_factory.mktemp("export") / IDENTIFIER
    written = export_plugin(path, out, identifier=IDENTIFIER)
    assert sorted(p.name for p in written) == PLUGIN_FILES
    return out


@pytest.fixture(scope="module")
def brainscore_checkout(exported, tmp_path_factory, pytestconfig):
    """brainscore_vision with the exported folder copied to a fresh ``models/`` folder elsewhere, as a checkout of
    Brain-Score with the plugin added would hold it: Brain-Score's ``load_model`` finds it there by its registration
    line (Brain-Score's own ``ImportPlugin.locate_plugin``) and imports it as ``brainscore_vision.models.<name>``."""
    configure_brainscore(tmp_path_factory.mktemp("brainscore_cache"))
    for marker in ("memory_intense", "travis_slow"):  # marks of Brain-Score's tests (its own pytest config has them)
        pytestconfig.addinivalue_line("markers", f"{marker}: a Brain-Score test mark")
    import brainscore_vision
    import brainscore_vision.models
    from brainscore_core.plugin_management.import_plugin import ImportPlugin

    models = tmp_path_factory.mktemp("checkout") / "models"
    shutil.copytree(exported, models / IDENTIFIER)

    class CheckoutPlugin(ImportPlugin):
        """Brain-Score's plugin lookup over the checkout's ``models/`` folder instead of the installed one's."""

        def __init__(self, identifier):
            self.plugin_type, self.identifier, self.registry_name = "models", identifier, "model_registry"
            self.plugins_dir = models
            self.plugin_dirname = self.locate_plugin()

    def import_from_checkout(library_root, plugin_type, identifier, registry_prefix=None):
        assert (library_root, plugin_type, registry_prefix) == ("brainscore_vision", "models", None)
        importlib.import_module(f"brainscore_vision.models.{CheckoutPlugin(identifier).plugin_dirname}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(brainscore_vision, "import_plugin", import_from_checkout)
        patch.setattr(brainscore_vision, "model_registry", {})
        patch.setattr(brainscore_vision.models, "__path__", [*brainscore_vision.models.__path__, str(models)])
        yield models / IDENTIFIER
    for name in [name for name in sys.modules if name.startswith(f"brainscore_vision.models.{IDENTIFIER}")]:
        del sys.modules[name]
    vars(brainscore_vision.models).pop(IDENTIFIER, None)


@pytest.fixture(scope="module")
def generic(brainscore_checkout, tmp_path_factory):
    """Brain-Score's generic plugin tests module, its probe images (not in the installed package) made here: the
    same file names, ids and labels, only their folder differs.

    The module imports ``pytest_generate_tests`` from Brain-Score's plugin-test helper, which parametrizes
    ``identifier`` from the ``--plugin_directory`` option of Brain-Score's runner; here each test is called with the
    identifier instead. The helper's imports reach the runner's own requirements (pytest-check, PyYAML: Brain-Score
    test extras, not installed here), so where they are missing a stand-in helper without parametrization serves
    the import, and the module that saw it is dropped afterwards."""
    from PIL import Image

    helper = "brainscore_core.plugin_management.generic_plugin_tests_helper"
    with pytest.MonkeyPatch.context() as patch:
        try:
            importlib.import_module(helper)
        except ModuleNotFoundError:
            stand_in = types.ModuleType(helper)
            stand_in.pytest_generate_tests = lambda metafunc: None
            patch.setitem(sys.modules, helper, stand_in)
        from brainscore_vision.model_helpers import generic_plugin_tests

        folder = tmp_path_factory.mktemp("generic_plugin_tests_resources")
        rng = np.random.default_rng(0)
        for name in ("rgb1.jpg", "rgb2.jpg", "rgb3.png"):
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / name)
        original = generic_plugin_tests._make_stimulus_set

        def local_stimulus_set():
            stimuli = original()
            stimuli.stimulus_paths = {i: folder / path.name for i, path in stimuli.stimulus_paths.items()}
            return stimuli

        patch.setattr(generic_plugin_tests, "_make_stimulus_set", local_stimulus_set)
        yield generic_plugin_tests
    sys.modules.pop(generic_plugin_tests.__name__, None)


def test_the_folder_is_a_brainscore_model_plugin(exported, tiny):
    _, spec, path = tiny
    assert sorted(p.name for p in exported.iterdir()) == sorted([*PLUGIN_FILES, MANIFEST])
    init = (exported / "__init__.py").read_text()
    assert f"model_registry['{IDENTIFIER}'] = lambda: get_model('{IDENTIFIER}')" in init.splitlines()
    model_py = (exported / "model.py").read_text()
    assert "load_checkpoint(CHECKPOINT)" in model_py and f"CONTENT_SHA256 = '{spec.content_sha256}'" in model_py
    assert "check_models.check_brain_models(__name__)" in model_py
    requirements = [line for line in (exported / "requirements.txt").read_text().splitlines()
                    if not line.startswith("#")]
    assert requirements == [f"topoanalysis=={topoanalysis.__version__}"]
    readme = (exported / "README.md").read_text()
    assert spec.model_card() in readme and "pip wheel" in readme and "git+https://" in readme
    assert f"brainscore_vision/models/{IDENTIFIER}/" in readme and "brain-score.org" in readme
    assert (exported / CHECKPOINT_FILE).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("name", GENERIC_TESTS)
def test_brainscore_generic_plugin_test_passes_on_a_fresh_copy(generic, name):
    getattr(generic, name)(IDENTIFIER)


def test_every_generic_test_is_run_and_reaches_its_assertions(generic):
    """The generic neural and behaviour tests return early, passing, for a model that cannot record V1 or start the
    probabilities task: this one can (and cannot label or pick an odd one out)."""
    assert {name for name in dir(generic) if name.startswith("test_")} == set(GENERIC_TESTS)
    model, probe = generic.load_model(IDENTIFIER), generic.ProbeModel()
    assert type(model).__name__ == "TopoBrainModel" and model.identifier == IDENTIFIER
    assert probe.can_start_recording_region(model, recording_target="V1")
    assert probe.can_start_task_specific(model, task="probabilities", fitting_stimuli=generic._make_stimulus_set())
    assert not probe.can_start_task_specific(model, task="label")
    assert not probe.can_start_task_specific(model, task="odd_one_out")


def test_the_plugins_own_tests_pass(brainscore_checkout):
    tests = importlib.import_module(f"brainscore_vision.models.{IDENTIFIER}.test")
    names = [name for name in dir(tests) if name.startswith("test_")]
    assert names == ["test_commitments", "test_has_identifier"]
    for name in names:
        getattr(tests, name)()


def test_export_replaces_its_own_output_whole_and_refuses_foreign_files(tiny, tmp_path, monkeypatch):
    from topoanalysis.brain import plugin_export

    _, _, path = tiny
    out = tmp_path / "plugin"
    export_plugin(path, out, identifier="first_name")
    export_plugin(path, out, identifier="second_name")  # an earlier export: replaced
    assert "model_registry['second_name']" in (out / "__init__.py").read_text()
    before = {name: (out / name).read_bytes() for name in PLUGIN_FILES}

    def damaged_copy(source, target):
        target.write_bytes(b"not a checkpoint")

    monkeypatch.setattr(plugin_export.shutil, "copyfile", damaged_copy)
    with pytest.raises(ValueError, match="not a loadable PyTorch checkpoint"):
        export_plugin(path, out, identifier="third_name")
    assert {name: (out / name).read_bytes() for name in PLUGIN_FILES} == before  # nothing half-written
    monkeypatch.undo()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"already holds other files \(notes.txt"):
        export_plugin(path, out, identifier="fourth_name")


def test_cli_exports_and_says_what_is_wrong_in_one_line(tiny, tmp_path, capsys):
    _, _, path = tiny
    out = tmp_path / "plugin"
    assert main(["export", "brainscore-plugin", "--ckpt", str(path), "--out", str(out)]) == 0
    assert "model_registry['tiny']" in (out / "__init__.py").read_text()  # the file stem by default
    assert "6 files" in capsys.readouterr().out
    requirement = "topoanalysis @ git+https://example.org/me/topoanalysis@v0.3.0"
    assert main(["export", "brainscore-plugin", "--ckpt", str(path), "--out", str(out), "--identifier", "tiny_git",
                 "--requirement", requirement]) == 0
    assert requirement in (out / "requirements.txt").read_text().splitlines()
    plain = tmp_path / "plain.pt"
    import torch

    torch.save({"conv1.weight": torch.zeros(1)}, plain)
    bad = {"9-lives": "--identifier '9-lives' cannot name a Brain-Score model plugin: it must be a Python package "
                      "name",
           "alexnet": "the identifier 'alexnet' already names a Brain-Score model",
           "_hidden": "Brain-Score skips plugin folders starting with '_'"}
    for identifier, expected in bad.items():
        assert main(["export", "brainscore-plugin", "--ckpt", str(path), "--out", str(tmp_path / "bad"),
                     "--identifier", identifier]) == 2
        err = capsys.readouterr().err
        assert expected in err and "(option --identifier)" in err and len(err.strip().splitlines()) == 1
    assert main(["export", "brainscore-plugin", "--ckpt", str(plain), "--out", str(tmp_path / "bad")]) == 2
    assert "is not a topoanalysis checkpoint" in capsys.readouterr().err
    assert main(["export", "brainscore-plugin", "--ckpt", str(path), "--out", str(tmp_path / "bad"),
                 "--requirement", "numpy"]) == 2
    assert "is not one requirement line for topoanalysis" in capsys.readouterr().err
    named = tmp_path / "my-model.pt"
    shutil.copyfile(path, named)
    assert main(["export", "brainscore-plugin", "--ckpt", str(named), "--out", str(tmp_path / "bad")]) == 2
    assert "the checkpoint's file name 'my-model' cannot name" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
