"""Spike entropy, accuracy vs T and Fisher information."""

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from topoanalysis.metrics.temporal import (
    SpikeCountTally,
    binary_entropy_bits,
    count_entropy_bits,
    entropy_shift,
    spike_statistics,
)
from topoanalysis.running.dynamics import (
    accuracy_vs_timesteps,
    as_stimulus_set,
    fisher_information,
    layer_spike_statistics,
)
from topoanalysis.running.inputs import preprocess
from topoanalysis.running.recording import record
from topoanalysis.testing import tiny_checkpoint


def test_binary_entropy_known_values():
    np.testing.assert_allclose(binary_entropy_bits(np.array([0.5, 0.0, 1.0, 0.25])),
                               [1.0, 0.0, 0.0, -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binary_entropy_bits(np.array([1.5]))


def test_spike_statistics_per_timestep_and_window():
    spikes = np.zeros((4, 2, 2))
    spikes[:, 0, 0] = 1  # unit 0 fires at step 0 for every stimulus, never at step 1
    spikes[:2, 1, 1] = 1  # unit 1 fires at step 1 for half the stimuli
    table = spike_statistics(spikes).set_index("timestep")
    assert table.loc[0, "entropy_bits"] == 0.0 and table.loc[0, "firing_rate"] == 0.5
    assert table.loc[1, "entropy_bits"] == pytest.approx(0.5)  # (H(0) + H(0.5)) / 2
    window = binary_entropy_bits(np.array([0.5, 0.25])).mean()
    assert table.loc[-1, "entropy_bits"] == pytest.approx(window)
    assert table.loc[0, "fraction_silent"] == 0.5
    with pytest.raises(ValueError, match="reduce='none'"):
        spike_statistics(np.zeros((4, 3)))


def test_entropy_shift_is_topo_minus_baseline():
    def rows(h):
        return pd.DataFrame({"timesteps": [4, 4, 4], "layer": ["a", "a", "b"], "timestep": [0, -1, -1],
                             "entropy_bits": h})
    shift = entropy_shift(rows([0.9, 0.5, 0.25]), rows([0.1, 0.25, 0.5])).set_index("layer")
    assert shift.loc["a", "entropy_shift_bits"] == 0.25 and shift.loc["b", "entropy_shift_bits"] == -0.25


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8), rng.integers(0, 10, 12)


def test_layer_spike_statistics_on_the_tiny_model(tiny, images):
    model, spec, _ = tiny
    stimuli = as_stimulus_set(images[0], "noise", spec.visual_degrees)
    table = layer_spike_statistics(model, spec, stimuli, timesteps=3, layers=["layer1.0", "layer4.1"], device="cpu")
    assert len(table) == 2 * (3 + 1) and set(table["timesteps"]) == {3}
    assert table["entropy_bits"].between(0, 1).all() and table["firing_rate"].between(0, 1).all()


def test_accuracy_vs_timesteps_runs_each_t(tiny, images):
    model, spec, _ = tiny
    table = accuracy_vs_timesteps(model, spec, *images, [1, 2, 4], device="cpu")
    assert table["timesteps"].tolist() == [1, 2, 4] and table["accuracy"].between(0, 100).all()
    again = accuracy_vs_timesteps(model, spec, *images, [1, 2, 4], device="cpu")
    pd.testing.assert_frame_equal(table, again)


def test_fisher_information_equals_per_image_gradients(tiny, images):
    model, spec, _ = tiny
    x_uint8, labels = images[0][:2], images[1][:2]
    table = fisher_information(model, spec, x_uint8, labels, device="cpu")
    assert set(table["timestep"]) == {1, 2} and (table["fisher"] >= 0).all()
    assert set(table["group"]) == {"stem", "classifier", *[f"layer{s}.{b}" for s in range(1, 5) for b in (0, 1)]}
    x = preprocess(as_stimulus_set(x_uint8, "x", 8.0).batch(slice(None)), spec.input_size_px, spec.mean, spec.std)
    expected = 0.0
    for i in range(2):
        logits = model.timestep_logits(x[i:i + 1], timesteps=2)[:1].mean(0)  # t = 1
        loss = F.cross_entropy(logits, torch.as_tensor(labels[i:i + 1]))
        grads = torch.autograd.grad(loss, [p for name, p in model.named_parameters() if name.startswith("layer2.0.")])
        expected += sum(float((g.double() ** 2).sum()) for g in grads)
        functional.reset_net(model)
    got = table[(table["timestep"] == 1) & (table["group"] == "layer2.0")]["fisher"].item()
    assert got == pytest.approx(expected / 2, rel=1e-6)
    assert table[table["group"] == "layer2.0"]["area"].iloc[0] == spec.layer_areas["layer2.0"]


def test_parameter_groups():
    from topoanalysis.models import cornet, resnet
    assert resnet.connection("layer3.1.conv2.weight") == "layer3.1"
    assert resnet.connection("fc.bias") == "classifier" and resnet.connection("conv1.weight") == "stem"
    assert cornet.connection("V1.conv_input.weight") == "retina->V1"
    assert cornet.connection("V4.norm_input.bias") == "V2->V4"
    assert cornet.connection("IT.conv1.weight") == "IT recurrent"
    assert cornet.connection("decoder.linear.weight") == "classifier"


def test_a_planted_spike_count_train_has_its_known_entropy():
    """A SEW-ADD block emits counts 0, 1, 2: the entropy is over that alphabet (1.5 bits for 0, 1, 2, 2), and 0/1
    spikes keep their binary entropy."""
    counts = np.zeros((4, 2, 3))
    counts[:, 0, 0] = [0, 1, 2, 2]  # step 0: p(0) = p(1) = 1/4, p(2) = 1/2 -> 1.5 bits
    counts[:, 1, 0] = 2  # step 1: always 2 -> 0 bits
    counts[:2, :, 1] = 1  # a binary unit firing for half the stimuli at both steps -> 1 bit
    table = spike_statistics(counts).set_index("timestep")
    assert table.loc[0, "entropy_bits"] == pytest.approx((1.5 + 1.0 + 0.0) / 3)
    assert table.loc[1, "entropy_bits"] == pytest.approx((0.0 + 1.0 + 0.0) / 3)
    window_unit0 = -(2 * (1 / 8) * np.log2(1 / 8) + (6 / 8) * np.log2(6 / 8))  # counts 0, 1 once, 2 six times
    assert table.loc[-1, "entropy_bits"] == pytest.approx((window_unit0 + 1.0) / 3)
    assert table.loc[0, "firing_rate"] == pytest.approx((5 / 4 + 1 / 2) / 3)  # the mean count per step
    np.testing.assert_allclose(count_entropy_bits(counts[:, 0, :2]), [1.5, 1.0])


@pytest.mark.parametrize("value", [0.37, -1.0, np.nan])
def test_values_that_are_not_spike_counts_are_refused(value):
    spikes = np.zeros((2, 1, 2))
    spikes[0, 0, 1] = value
    with pytest.raises(ValueError, match="not spike counts .*not its ReLU twin"):
        spike_statistics(spikes)


def test_layer_statistics_take_sew_counts_and_refuse_relu_outputs(images):
    sew, sew_spec = tiny_checkpoint(arch="tiny_sew_resnet")
    stimuli = as_stimulus_set(images[0], "noise", sew_spec.visual_degrees)
    table = layer_spike_statistics(sew, sew_spec, stimuli, layers=["layer1.1"], device="cpu").set_index("timestep")
    counts = record(sew, stimuli, ["layer1.1"], spec=sew_spec, reduce="none", device="cpu")["responses"].values
    assert counts.max() == 3  # layer1.0 sums two spike trains (0-2), layer1.1 adds its branch's spikes (0-3)
    expected = count_entropy_bits(counts.reshape(-1, counts.shape[-1])).mean()
    assert table.loc[-1, "entropy_bits"] == pytest.approx(expected) and expected > 0
    relu, relu_spec = tiny_checkpoint(arch="tiny_resnet")
    with pytest.raises(ValueError, match="layer layer1.0 emits values that are not spike counts"):
        layer_spike_statistics(relu, relu_spec, stimuli, layers=["layer1.0"], device="cpu")


def test_a_tally_over_batches_equals_the_statistics_of_the_stack():
    """Counts 0-3 in uneven batches, the alphabet growing between them: the tally's table equals
    spike_statistics of the concatenated array (the reference) and count_entropy_bits per unit."""
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 2, (23, 3, 7)).astype(np.float32)
    counts[15:, 1, :3] = rng.integers(0, 4, (8, 3))  # larger counts only in the last batches
    tally = SpikeCountTally("layer x")
    for start, stop in ((0, 5), (5, 6), (6, 15), (15, 23)):
        tally.add(counts[start:stop])
    got, expected = tally.table(), spike_statistics(counts)
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12)
    window = count_entropy_bits(counts.transpose(1, 0, 2).reshape(-1, 7)).mean()
    assert got.iloc[-1]["entropy_bits"] == pytest.approx(window, rel=1e-12)
    with pytest.raises(ValueError, match="layer x: a batch of shape"):
        tally.add(counts[:2, :2])


def test_layer_statistics_do_not_depend_on_the_batch_size(tiny, images):
    """All layers in one pass, a batch at a time: the same table as each layer recorded over all stimuli."""
    model, spec, _ = tiny
    stimuli = as_stimulus_set(images[0], "noise", spec.visual_degrees)
    layers = ["layer1.0", "layer3.1", "layer4.1"]
    table = layer_spike_statistics(model, spec, stimuli, timesteps=3, layers=layers, batch_size=5, device="cpu")
    for layer in layers:
        spikes = record(model, stimuli, [layer], spec=spec, timesteps=3, reduce="none", device="cpu")
        expected = spike_statistics(spikes["responses"].values)
        got = table[table["layer"] == layer][expected.columns].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, rtol=1e-12)
