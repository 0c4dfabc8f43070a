import numpy as np
import pytest
import torch
from spikingjelly.activation_based import functional
from torch import nn

from topoanalysis.metrics.activity import SilentLayerError, layer_activity, require_active
from topoanalysis.responses import layer_responses, load_responses, save_responses
from topoanalysis.running.inputs import preprocess
from topoanalysis.running.recording import record
from topoanalysis.testing import tiny_checkpoint, tiny_gratings


@pytest.fixture(scope="module")
def gratings():
    return tiny_gratings()


def _direct_rates(model, spec, stimuli, layer):
    x = preprocess(stimuli.batch(slice(None)), spec.input_size_px, spec.mean, spec.std)
    with torch.no_grad():
        functional.reset_net(model)
        f = model.forward_features(x, [layer])[layer]
        functional.reset_net(model)
    return torch.flatten(f.mean(0), 1).numpy()


def test_shapes_coords_and_values_match_a_direct_forward(tiny, gratings):
    model, spec, _ = tiny
    ds = record(model, gratings, ["layer1.0", "layer4.1"], spec=spec, device="cpu", batch_size=5)
    n1, n4 = spec.sheets["layer1.0"].n_units, spec.sheets["layer4.1"].n_units
    assert ds["responses"].dims == ("stimulus", "unit")
    assert ds["responses"].shape == (len(gratings), n1 + n4)
    assert list(ds["stimulus"].values) == list(gratings.labels["stimulus_id"])
    np.testing.assert_array_equal(ds["orientation_deg"].values, gratings.labels["orientation_deg"].values)
    it = layer_responses(ds, "layer4.1")
    np.testing.assert_array_equal(it.values, _direct_rates(model, spec, gratings, "layer4.1"))
    sheet = spec.sheets["layer4.1"]
    np.testing.assert_array_equal(it["x_mm"].values, sheet.xy_mm[:, 0])
    np.testing.assert_array_equal(it["y_mm"].values, sheet.xy_mm[:, 1])
    np.testing.assert_array_equal(it["channel"].values, sheet.channel)
    np.testing.assert_array_equal(it["row"].values, sheet.row)
    np.testing.assert_array_equal(it["col"].values, sheet.col)
    assert ds.attrs["checkpoint_sha256"] == spec.content_sha256 and ds.attrs["timesteps"] == 2


def test_state_is_reset_between_batches(tiny, gratings):
    model, spec, _ = tiny
    one = record(model, gratings, ["layer3.1"], spec=spec, device="cpu", batch_size=len(gratings))
    many = record(model, gratings, ["layer3.1"], spec=spec, device="cpu", batch_size=3)
    np.testing.assert_array_equal(one["responses"].values, many["responses"].values)


def test_reduce_none_keeps_time_and_averages_to_the_rate(tiny, gratings):
    model, spec, _ = tiny
    rate = record(model, gratings, ["layer2.0"], spec=spec, device="cpu")
    spikes = record(model, gratings, ["layer2.0"], spec=spec, device="cpu", reduce="none", timesteps=2)
    assert spikes["responses"].dims == ("stimulus", "time", "unit")
    assert spikes.sizes["time"] == 2
    assert set(np.unique(spikes["responses"].values)) <= {0.0, 1.0}
    np.testing.assert_allclose(spikes["responses"].mean("time").values, rate["responses"].values)


def test_internal_modules_are_recorded_by_hooks_that_are_removed(tiny, gratings):
    model, spec, _ = tiny
    ds = record(model, gratings, ["layer2.0.sn1", "fc"], spec=spec, device="cpu")
    assert ds.sizes["unit"] == 8 * 8 * 8 + 10
    assert np.isnan(layer_responses(ds, "fc")["x_mm"].values).all()
    assert all(not m._forward_hooks for m in model.modules())


class _Exploding(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.head = nn.Linear(2, 2)

    def forward(self, x):
        self.conv(x)
        raise RuntimeError("boom")


def test_hooks_are_removed_even_when_the_forward_pass_fails(gratings):
    model = _Exploding()
    with pytest.raises(RuntimeError, match="boom"):
        record(model, gratings, ["conv"], device="cpu")
    assert not model.conv._forward_hooks


def test_plain_modules_without_time_are_one_timestep(gratings):
    model = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.ReLU())
    ds = record(model, gratings, ["1"], device="cpu")
    assert ds["responses"].shape == (len(gratings), 2 * 16 * 16) and ds.attrs["timesteps"] == 1


def test_unknown_layer_lists_the_valid_ones(tiny, gratings):
    model, spec, _ = tiny
    with pytest.raises(ValueError, match=r"unknown layer\(s\) \['layer9.9'\]; valid layers: layer1.0, layer1.1"):
        record(model, gratings, ["layer9.9"], spec=spec)


def test_recording_at_another_input_size_than_the_sheets_is_an_error(tiny, gratings):
    model, spec, _ = tiny
    with pytest.raises(ValueError, match="sheet for layer2.0 has shape .* input size"):
        record(model, gratings, ["layer2.0"], spec=spec, input_size_px=32, device="cpu")


def test_bad_options_are_named(tiny, gratings):
    model, spec, _ = tiny
    with pytest.raises(ValueError, match="unknown reduce 'sum'"):
        record(model, gratings, ["layer2.0"], spec=spec, reduce="sum")
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        record(model, gratings, ["layer2.0"], spec=spec, precision="fp8")


def test_bf16_path_runs_and_stays_close_to_fp32(tiny, gratings):
    model, spec, _ = tiny
    ref = record(model, gratings, ["layer1.0"], spec=spec, device="cpu")
    fast = record(model, gratings, ["layer1.0"], spec=spec, device="cpu", precision="bf16")
    assert fast["responses"].dtype == np.float32
    # spikes near threshold may flip under bf16; the rates must still agree closely
    assert np.abs(fast["responses"].values - ref["responses"].values).mean() < 0.02


def test_silent_layers_are_detected_and_named(gratings):
    model, spec = tiny_checkpoint(calibrate=False)
    ds = record(model, gratings, ["layer1.0", "layer3.0"], spec=spec, device="cpu")
    table = layer_activity(ds).set_index("layer")
    assert table.loc["layer3.0", "silent_layer"] and table.loc["layer3.0", "fraction_silent_units"] == 1.0
    with pytest.raises(SilentLayerError, match="layer layer3.0 is silent"):
        require_active(ds, "layer3.0")


def test_netcdf_round_trip(tiny, gratings, tmp_path):
    model, spec, _ = tiny
    ds = record(model, gratings, ["layer2.0", "layer4.1"], spec=spec, device="cpu")
    save_responses(ds, tmp_path / "r.nc")
    back = load_responses(tmp_path / "r.nc")
    np.testing.assert_array_equal(back["responses"].values, ds["responses"].values)
    np.testing.assert_array_equal(back["x_mm"].values, ds["x_mm"].values)
    assert list(back["layer"].values) == list(ds["layer"].values)
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]  # no temporary files left
    with pytest.raises(FileNotFoundError, match="recording not found"):
        load_responses(tmp_path / "missing.nc")


def test_forward_features_compiles_as_one_graph_and_matches_eager(tiny, gratings):
    model, spec, _ = tiny
    import torch._dynamo

    torch._dynamo.reset()
    compiled = torch.compile(model.forward_features, fullgraph=True, backend="aot_eager")
    x = preprocess(gratings.batch(slice(0, 4)), spec.input_size_px, spec.mean, spec.std)
    with torch.no_grad():
        ref = model.forward_features(x, ["layer2.0", "layer4.1"])
        functional.reset_net(model)
        out = compiled(x, ["layer2.0", "layer4.1"])
        functional.reset_net(model)
    assert all(torch.equal(out[k], ref[k]) for k in ref)
    eager = record(model, gratings, ["layer4.1"], spec=spec, device="cpu", batch_size=8)
    fast = record(model, gratings, ["layer4.1"], spec=spec, device="cpu", batch_size=8, compile="aot_eager")
    np.testing.assert_array_equal(fast["responses"].values, eager["responses"].values)
    with pytest.raises(ValueError, match="compile=True needs a model with forward_features"):
        record(model, gratings, ["layer2.0.sn1"], spec=spec, compile="aot_eager")
