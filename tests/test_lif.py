"""The plain-ops LIF against spikingjelly's LIFNode: the same spikes, the same surrogate gradients."""

import numpy as np
import pytest
import torch
from spikingjelly.activation_based import functional

from topoanalysis.models import create_model
from topoanalysis.models.checkpoints import module_types
from topoanalysis.models.lif import PlainLIF, is_spiking, plain_twin, use_plain_lif
from topoanalysis.models.resnet import make_neuron
from topoanalysis.running.recording import record
from topoanalysis.testing import tiny_checkpoint, tiny_gratings


@pytest.mark.parametrize("detach_reset", [True, False])
def test_spikes_identical_and_gradients_equal_over_random_sequences(detach_reset):
    node = make_neuron("lif", tau=2.0, v_threshold=1.0, surrogate_name="atan", detach_reset=detach_reset)
    twin = plain_twin(node)
    generator = torch.Generator().manual_seed(0)
    n_spikes = 0
    for _ in range(100):
        x = (torch.randn(4, 16, 33, generator=generator) * 1.5 + 0.5).requires_grad_(True)
        weights = torch.randn(4, 16, 33, generator=generator)
        reference = node(x)
        functional.reset_net(node)
        y = x.detach().clone().requires_grad_(True)
        plain = twin(y)
        assert torch.equal(reference, plain)
        (reference * weights).sum().backward()
        (plain * weights).sum().backward()
        torch.testing.assert_close(y.grad, x.grad, rtol=0, atol=1e-6)
        n_spikes += int(reference.sum())
    assert n_spikes > 10_000  # the sequences do cross the threshold


def test_the_surrogate_is_atans():
    x = torch.linspace(-2, 2, 41, requires_grad=True)
    PlainLIF(tau=1.0)(x[None] + 1.0).sum().backward()  # tau 1: h = x + 1, so the step sits at x = 0
    expected = 2.0 / 2 / (1 + (np.pi / 2 * 2.0 * x.detach()) ** 2)
    torch.testing.assert_close(x.grad, expected, rtol=1e-6, atol=1e-7)


def test_swapped_model_records_identically_and_keeps_its_checkpoint_identity():
    model, spec = tiny_checkpoint(calibrate=True)
    stimuli = tiny_gratings()
    layers = list(spec.sheets)
    reference = record(model, stimuli, layers, spec=spec, device="cpu")["responses"].values
    types = module_types(model)
    assert use_plain_lif(model) > 0 and not any(type(m).__name__ == "LIFNode" for m in model.modules())
    swapped = record(model, stimuli, layers, spec=spec, device="cpu")["responses"].values
    assert np.array_equal(reference, swapped) and reference.any()
    assert module_types(model) == types  # a checkpoint saved from it still says LIFNode
    assert is_spiking(model)  # the plain LIF still counts as spiking


def test_only_networks_with_spiking_neurons_are_spiking():
    assert is_spiking(create_model("tiny_spiking_resnet")) and not is_spiking(create_model("tiny_resnet"))


def test_plain_twin_refuses_neurons_it_does_not_cover():
    node = make_neuron("lif", tau=2.0, v_threshold=1.0, surrogate_name="sigmoid", detach_reset=True)
    with pytest.raises(ValueError, match="ATan surrogate"):
        plain_twin(node)


@pytest.mark.slow
def test_compiled_recording_matches_the_eager_reference():
    model, spec = tiny_checkpoint(calibrate=True)
    stimuli = tiny_gratings()
    layers = list(spec.sheets)
    eager = record(model, stimuli, layers, spec=spec, device="cpu")["responses"].values
    compiled = record(model, stimuli, layers, spec=spec, device="cpu", compile=True)["responses"].values
    np.testing.assert_allclose(compiled, eager, atol=1e-6)
    assert any(type(m).__name__ == "LIFNode" for m in model.modules())  # the caller's model is untouched
