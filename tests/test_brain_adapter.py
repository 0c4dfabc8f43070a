"""The Brain-Score adapter: interface checks and a hand-built NeuralBenchmark run offline."""

import zipfile

import numpy as np
import pandas as pd
import pytest

from topoanalysis.brain.adapter import brain_model, configure_brainscore, default_region_layer_map, neuroid_assembly
from topoanalysis.datasets.resolver import SHARED_DATA_DIR
from topoanalysis.running.recording import record
from topoanalysis.stimuli.base import StimulusSet as TopoStimulusSet

V4_DIR = SHARED_DATA_DIR / "v4_cowley2023"


@pytest.fixture(scope="module")
def brainscore(tmp_path_factory):
    configure_brainscore(tmp_path_factory.mktemp("brainscore_cache"))
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
    from brainscore_vision.model_interface import BrainModel

    return BrainModel, StimulusSet


@pytest.fixture(scope="module")
def v4_stimuli(brainscore, tmp_path_factory):
    """The first 120 images of Cowley 2023 session 210325 as a Brain-Score StimulusSet, and responses."""
    if not (V4_DIR / "images_210325.zip").is_file():
        pytest.skip("V4 data not available at ../shared/data/v4_cowley2023")
    _, StimulusSet = brainscore
    folder = tmp_path_factory.mktemp("v4_images")
    with zipfile.ZipFile(V4_DIR / "images_210325.zip") as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))[:120]
        archive.extractall(folder, members=names)
    ids = [f"v4-210325-{i:04d}" for i in range(len(names))]
    stimuli = StimulusSet(pd.DataFrame({"stimulus_id": ids, "object_name": "natural"}))
    stimuli.stimulus_paths = {i: str(folder / n) for i, n in zip(ids, names)}
    stimuli.identifier = "Cowley2023.210325.first120"
    responses = np.load(V4_DIR / "responses_210325.npy")[:, : len(names)].T
    return stimuli, responses


def test_adapter_is_a_brain_model_with_the_checkpoint_commitments(tiny, brainscore):
    BrainModel, _ = brainscore
    model, spec, _ = tiny
    candidate = brain_model(model, spec, identifier="tiny", device="cpu")
    assert isinstance(candidate, BrainModel) and candidate.identifier == "tiny"
    assert candidate.visual_degrees() == spec.visual_degrees
    assert candidate.region_layer_map == {"V1": "layer2.0", "V2": "layer3.0", "V4": "layer3.1", "IT": "layer4.1"}
    assert default_region_layer_map(spec) == candidate.region_layer_map
    candidate.start_task(BrainModel.Task.passive)
    with pytest.raises(NotImplementedError, match="passive"):
        candidate.start_task(BrainModel.Task.label, "imagenet")
    with pytest.raises(RuntimeError, match="start_recording"):
        candidate.look_at(None)
    with pytest.raises(ValueError, match="committed regions: V1, V2, V4, IT"):
        candidate.start_recording("MT", [(70, 170)])
    with pytest.raises(ValueError, match="without a sheet"):
        brain_model(model, spec, identifier="tiny", region_layer_map={"IT": "fc"})


def test_look_at_returns_rates_with_tissue_positions(tiny, v4_stimuli):
    model, spec, _ = tiny
    stimuli, _ = v4_stimuli
    subset = stimuli.iloc[:10]
    subset.stimulus_paths, subset.identifier = stimuli.stimulus_paths, "first10"
    candidate = brain_model(model, spec, identifier="tiny", device="cpu")
    candidate.start_recording("IT", [(70, 170), (170, 270)])
    assembly = candidate.look_at(subset)
    assert assembly.dims == ("presentation", "neuroid", "time_bin") and assembly.sizes["time_bin"] == 2
    assert list(assembly["stimulus_id"].values) == list(subset["stimulus_id"])
    sheet = spec.sheets["layer4.1"]
    np.testing.assert_allclose(assembly["tissue_x"].values, sheet.xy_mm[:, 0])
    np.testing.assert_allclose(assembly["tissue_y"].values, sheet.xy_mm[:, 1])
    assert set(assembly["region"].values) == {"IT"} and set(assembly["layer"].values) == {"layer4.1"}
    from PIL import Image

    images = np.stack([np.asarray(Image.open(p).convert("RGB").resize((16, 16), Image.BICUBIC))
                       for p in (subset.get_stimulus(i) for i in subset["stimulus_id"])])
    direct = record(model, TopoStimulusSet("x", images, pd.DataFrame({"stimulus_id": list(subset["stimulus_id"])}),
                                           8.0), ["layer4.1"], spec=spec, device="cpu")
    np.testing.assert_allclose(assembly.isel(time_bin=0).values, direct["responses"].values)
    np.testing.assert_allclose(assembly.isel(time_bin=1).values, direct["responses"].values)
    # a plain list of image paths (Brain-Score's interface allows it): the same responses, paths as ids
    paths = [str(subset.get_stimulus(i)) for i in subset["stimulus_id"]]
    from_paths = candidate.look_at(paths)
    assert list(from_paths["stimulus_id"].values) == paths
    np.testing.assert_allclose(from_paths.isel(time_bin=0).values, direct["responses"].values)


def test_neuroid_assembly_keeps_its_coordinates(brainscore):
    assembly = neuroid_assembly(np.arange(6.0).reshape(3, 2),
                                {"stimulus_id": ["a", "b", "c"], "object_name": list("xyz")},
                                {"neuroid_id": ["n0", "n1"], "region": ["V4", "V4"]})
    assert list(assembly["stimulus_id"].values) == ["a", "b", "c"]
    assert list(assembly["neuroid_id"].values) == ["n0", "n1"]
    assert assembly.sel(stimulus_id="b").sel(neuroid_id="n1").values.ravel().tolist() == [3.0]
    with pytest.raises(ValueError, match="at least two coords"):
        neuroid_assembly(np.zeros((3, 2)), {"stimulus_id": ["a", "b", "c"]},
                         {"neuroid_id": ["n0", "n1"], "region": ["x", "x"]})


def test_hand_built_neural_benchmark_runs_end_to_end_offline(tiny_floc, v4_stimuli):
    from brainscore_core.metrics import Score
    from brainscore_vision import load_metric
    from brainscore_vision.benchmark_helpers.neural_common import NeuralBenchmark

    stimuli, responses = v4_stimuli
    neural = neuroid_assembly(responses[:, :, None], {"stimulus_id": np.asarray(stimuli["stimulus_id"]),
                                          "object_name": np.full(len(stimuli), "natural")},
                              {"neuroid_id": np.array([f"n{i}" for i in range(responses.shape[1])]),
                               "region": np.full(responses.shape[1], "V4")}, time_bins=[(70, 170)]).squeeze("time_bin")
    neural.attrs["stimulus_set"] = stimuli
    benchmark = NeuralBenchmark(identifier="Cowley2023.210325-pls-test", assembly=neural, version=1,
                                similarity_metric=load_metric("pls"), visual_degrees=8, number_of_trials=1,
                                ceiling_func=lambda: Score(0.6), parent="V4", bibtex=None)
    model, spec, _ = tiny_floc
    score = benchmark(brain_model(model, spec, identifier="tiny-floc", device="cpu"))
    raw = float(score.attrs["raw"])
    assert -0.2 < raw < 1.0 and np.isfinite(float(score))
    assert float(score) == pytest.approx(raw**2 / 0.6)


def test_passes_brainscore_generic_model_checks(tiny, brainscore, tmp_path):
    """The checks of brainscore_vision.model_helpers.generic_plugin_tests, restated: that module needs
    pytest-check and its probe images are not in the wheel, so three images are written here."""
    from PIL import Image

    BrainModel, StimulusSet = brainscore
    model, spec, _ = tiny
    candidate = brain_model(model, spec, identifier="tiny", device="cpu")
    assert candidate.identifier is not None and 0 < candidate.visual_degrees() < 9000
    for region in (BrainModel.RecordingTarget.V1, BrainModel.RecordingTarget.V2, BrainModel.RecordingTarget.V4,
                   BrainModel.RecordingTarget.IT):
        candidate.start_recording(recording_target=region, time_bins=[(100, 200)])
    for task in (BrainModel.Task.label, BrainModel.Task.probabilities, BrainModel.Task.odd_one_out):
        with pytest.raises(NotImplementedError):  # neural recordings only, no behavioural tasks
            candidate.start_task(task=task)
    rng = np.random.default_rng(0)
    paths = {}
    for i in (1, 2, 3):
        paths[f"stimid{i}"] = tmp_path / f"rgb{i}.png"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(paths[f"stimid{i}"])
    stimuli = StimulusSet(pd.DataFrame({"stimulus_id": list(paths), "object_name": "rgb",
                                        "image_label": ["label1", "label1", "label2"]}))
    stimuli.stimulus_paths, stimuli.identifier = paths, "generic-checks"
    candidate.start_recording(recording_target=BrainModel.RecordingTarget.V1, time_bins=[(50, 100)])
    predictions = candidate.look_at(stimuli=stimuli, number_of_trials=1)
    assert set(predictions["stimulus_id"].values) == {"stimid1", "stimid2", "stimid3"}
    assert all(predictions["object_name"] == "rgb")
    assert len(set(predictions["neuroid_id"].values)) == len(predictions["neuroid"]) == 8 * 8 * 8
    assert set(predictions.dims) == {"presentation", "neuroid", "time_bin"}
