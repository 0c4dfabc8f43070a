"""The Brain-Score adapter: interface checks, the probabilities task, a hand-built NeuralBenchmark run offline, and
an official benchmark's offline error."""

import socket
import time
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from topoanalysis.brain.adapter import brain_model, configure_brainscore, default_region_layer_map, neuroid_assembly
from topoanalysis.brain.behaviour import ProbabilitiesReadout
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
    for task, args in ((BrainModel.Task.label, ("imagenet",)), (BrainModel.Task.odd_one_out, ())):
        with pytest.raises(NotImplementedError, match=f"task '{task}' is not supported: .* passive and probabilities"):
            candidate.start_task(task, *args)
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


def _png_stimuli(StimulusSet, folder, images, labels, name):
    """A Brain-Score StimulusSet of ``images`` written as PNG files, with ``labels`` as ``image_label``."""
    from PIL import Image

    ids = [f"{name}-{i}" for i in range(len(images))]
    paths = {}
    for stimulus_id, image in zip(ids, images):
        paths[stimulus_id] = folder / f"{stimulus_id}.png"
        Image.fromarray(image).save(paths[stimulus_id])
    stimuli = StimulusSet(pd.DataFrame({"stimulus_id": ids, "image_label": labels, "object_name": "synthetic"}))
    stimuli.stimulus_paths, stimuli.identifier = paths, name
    return stimuli


def test_probabilities_task_reads_out_it_on_the_fitting_labels(tiny, brainscore, tmp_path):
    BrainModel, StimulusSet = brainscore
    model, spec, _ = tiny
    rng = np.random.default_rng(0)
    labels = ["dog", "cat", "dog", "car", "cat", "car", "dog", "car", "cat"]
    fitting = _png_stimuli(StimulusSet, tmp_path, rng.integers(0, 256, (9, 16, 16, 3), dtype=np.uint8), labels, "fit")
    test = _png_stimuli(StimulusSet, tmp_path, rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8),
                        ["?"] * 4, "test")
    candidate = brain_model(model, spec, identifier="tiny", device="cpu")
    candidate.start_recording("V4", [(70, 170)])
    candidate.start_task(BrainModel.Task.probabilities, fitting, number_of_trials=1)
    predictions = candidate.look_at(test)
    assert predictions.dims == ("presentation", "choice")
    assert list(predictions["choice"].values) == ["dog", "cat", "car"]  # in order of first appearance
    assert list(predictions["stimulus_id"].values) == list(test["stimulus_id"])
    assert set(predictions["object_name"].values) == {"synthetic"}
    np.testing.assert_allclose(predictions.values.sum(axis=1), 1.0, rtol=1e-6)
    assert (predictions.values > 0).all()
    # the readout reads the IT layer's rates, recorded as for a neural recording
    candidate.start_recording("IT", [(70, 170)])
    it_rates = candidate.look_at(fitting).squeeze("time_bin").values
    expected = ProbabilitiesReadout().fit(it_rates, labels)
    candidate.start_task(BrainModel.Task.probabilities, fitting)
    np.testing.assert_allclose(candidate.look_at(fitting).values, expected.predict_proba(it_rates), rtol=1e-6)
    candidate.start_task(BrainModel.Task.passive)  # back to neural recordings
    assert candidate.look_at(test).dims == ("presentation", "neuroid", "time_bin")
    with pytest.raises(ValueError, match="needs fitting_stimuli: a StimulusSet with an image_label column"):
        candidate.start_task(BrainModel.Task.probabilities)
    with pytest.raises(ValueError, match="needs fitting_stimuli"):
        candidate.start_task(BrainModel.Task.probabilities, fitting.drop(columns="image_label"))
    with pytest.raises(ValueError, match=r"the keywords \['aggregation'\]"):
        candidate.start_task(BrainModel.Task.probabilities, fitting, aggregation="max")
    one_label = _png_stimuli(StimulusSet, tmp_path, rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8),
                             ["dog", "dog"], "one")
    with pytest.raises(ValueError, match="1 distinct image_label"):
        candidate.start_task(BrainModel.Task.probabilities, one_label)
    no_it = brain_model(model, spec, identifier="tiny", region_layer_map={"V1": "layer2.0"}, device="cpu")
    with pytest.raises(ValueError, match="reads the layer committed to IT, and this model commits none"):
        no_it.start_task(BrainModel.Task.probabilities, fitting)


@pytest.mark.parametrize("n_labels", [2, 3])
def test_readout_matches_brainscores_own_probabilities_classifier(brainscore, n_labels):
    """Brain-Score's ProbabilitiesMapping classifier (deprecated multi_class='multinomial') and ours, on the same
    features: the same probabilities for two labels (ours fits the binary model at 2 C) and for three."""
    from brainscore_vision.model_helpers.brain_transformation.behavior import ProbabilitiesMapping

    rng = np.random.default_rng(n_labels)
    labels = np.array(["a", "b", "c"][:n_labels])[rng.integers(0, n_labels, 40)]
    features = rng.normal(size=(40, 30)) + 0.5 * (labels[:, None] == "b")
    assembly = neuroid_assembly(features, {"stimulus_id": [f"s{i}" for i in range(40)], "image_label": labels},
                                {"neuroid_id": [f"n{i}" for i in range(30)], "region": ["IT"] * 30})
    theirs = ProbabilitiesMapping.ProbabilitiesClassifier()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn's deprecation of multi_class
        theirs.fit(assembly, assembly["image_label"])
    ours = ProbabilitiesReadout().fit(features, labels)
    assert ours.choices == list(theirs._label_mapping.values())
    their_probabilities = theirs._classifier.predict_proba(theirs._scaler.transform(features))
    np.testing.assert_allclose(ours.predict_proba(features), their_probabilities, atol=1e-4)
    assert np.abs(their_probabilities - 1 / n_labels).max() > 0.05  # the features carry label information


def _prototype_gratings(rng, vertical: bool, n: int) -> np.ndarray:
    """``n`` noisy copies of one 3-cycle grating across 16 px, horizontal or vertical."""
    ramp = np.sin(2 * np.pi * 3 * np.arange(16) / 16)
    grating = 0.5 + 0.45 * (ramp[None, :] if vertical else ramp[:, None]) * np.ones((16, 16))
    images = grating[None, :, :, None] + rng.normal(0, 0.03, (n, 16, 16, 3))
    return (np.clip(images, 0, 1) * 255).astype(np.uint8)


def test_planted_classes_are_told_apart_on_held_out_images(brainscore, tmp_path):
    """Horizontal against vertical gratings (independent pixel noise on each image): after fitting on 8 of each,
    every held-out image gets its own class's label. A ReLU twin of the tiny network: its IT layer responds to
    both (the tiny spiking network's IT is silent for one of them, which no readout can tell apart)."""
    from topoanalysis.testing import tiny_checkpoint

    BrainModel, StimulusSet = brainscore
    model, spec = tiny_checkpoint(arch="tiny_resnet")
    rng = np.random.default_rng(0)

    def stimuli(name, n):
        images = np.concatenate([_prototype_gratings(rng, False, n), _prototype_gratings(rng, True, n)])
        return _png_stimuli(StimulusSet, tmp_path, images, ["horizontal"] * n + ["vertical"] * n, name)

    fitting, held_out = stimuli("fit", 8), stimuli("held-out", 8)
    candidate = brain_model(model, spec, identifier="tiny-relu", device="cpu")
    candidate.start_task(BrainModel.Task.probabilities, fitting)
    predictions = candidate.look_at(held_out)
    chosen = predictions["choice"].values[predictions.values.argmax(axis=1)]
    assert list(chosen) == list(held_out["image_label"])
    assert (predictions.values.max(axis=1) > 0.5).all()


@pytest.mark.timeout(120)
def test_official_benchmark_offline_names_what_it_tried_to_download(tiny, brainscore, monkeypatch, tmp_path):
    """No network, made certain: every request goes to a closed local port as its proxy (refused at once), with
    one attempt, no instance-metadata lookup and no credentials, so botocore cannot wait on retries."""
    from brainscore_core.supported_data_standards.brainio import fetch

    from topoanalysis.brain.official import official_benchmark

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, closed)
    for name in ("NO_PROXY", "no_proxy", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no_aws_config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no_aws_credentials"))
    monkeypatch.setenv("BRAINIO_HOME", str(tmp_path / "brainio"))  # an empty data cache, read afresh
    monkeypatch.setattr(fetch, "_local_data_path", None)
    model, spec, _ = tiny
    started = time.monotonic()
    with pytest.raises(ConnectionError) as error:
        official_benchmark("MajajHong2015public.IT-pls", brain_model(model, spec, identifier="tiny", device="cpu"))
    assert time.monotonic() - started < 60
    message = str(error.value)
    assert message.startswith("cannot run the Brain-Score benchmark 'MajajHong2015public.IT-pls' here")
    assert "data set 'MajajHong2015.public' -> assembly 'dicarlo.MajajHong2015.public' -> the file " \
           "s3://brainscore-storage/brainio-brainscore/assy_dicarlo_MajajHong2015_public.nc" in message
    local = tmp_path / "brainio"
    assert f"looked for locally at {local}/" in message and "/assy_dicarlo_MajajHong2015_public.nc" in message
    assert "Cause: " in message and "ProxyConnectionError" in message
