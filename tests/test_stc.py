"""Tests of the TDSNN STC loss (topoanalysis.training.stc) against brute-force references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr

from topoanalysis.sheets import LayerPositions, retinotopic_positions
from topoanalysis.training.stc import (
    STCLoss,
    _units_in_memory_order,
    ccg_correlation,
    ccg_window,
    inverse_distance,
    rate_correlation,
    spatial_loss,
    stc_cluster_losses,
)
from topoanalysis.training.stc_fused import fused_cluster_losses

T, B = 4, 16


def _sheet(name: str = "toy", seed: int = 0) -> LayerPositions:
    return retinotopic_positions(name, (4, 6, 6), 10.0, 5.0, rng=np.random.default_rng(seed))


def _bumps(xy: np.ndarray, n_batch: int, seed: int, sigma: float = 2.0) -> np.ndarray:
    """Rates in [0, 1], one Gaussian bump per trial at a random centre: [B, N]."""
    centres = np.random.default_rng(seed).uniform(0, 10, size=(n_batch, 2))
    d2 = ((xy[None, :, :] - centres[:, None, :]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * sigma**2))


def _synchronous_spikes(rates: np.ndarray, n_t: int, seed: int) -> torch.Tensor:
    """Units spike when a shared per-(t, b) uniform falls below their rate: [T, B, N]."""
    u = np.random.default_rng(seed).uniform(size=(n_t, rates.shape[0], 1))
    return torch.tensor((u < rates[None]).astype(np.float32))


def _ccg_reference(s: np.ndarray, w: int, eps: float = 1e-8) -> np.ndarray:
    """Eqs. 4-5 by loops over pairs, lags, trials and times; s is [T, B, Q]."""
    n_t, n_b, q = s.shape
    ccg = np.zeros((q, q))
    for i, j in itertools.product(range(q), range(q)):
        for tau in range(-w, w + 1):
            lam = max(0, n_t - abs(tau))
            if lam == 0:
                continue
            acc = 0.0
            for b in range(n_b):
                for t in range(n_t):
                    if 0 <= t + tau < n_t:
                        acc += s[t, b, i] * s[t + tau, b, j]
            ccg[i, j] += acc / (n_b * lam)
    r = np.zeros((q, q))
    for i, j in itertools.product(range(q), range(q)):
        r[i, j] = 1.0 if i == j else ccg[i, j] / (np.sqrt(ccg[i, i] * ccg[j, j]) + eps)
    return r


def test_rate_correlation_matches_numpy_and_silent_unit():
    g = torch.Generator().manual_seed(0)
    s = (torch.rand(5, 12, 2, 7, generator=g) < 0.5).double()
    got = rate_correlation(s)
    for m in range(2):
        want = np.corrcoef(s[:, :, m].mean(0).numpy().T)
        np.testing.assert_allclose(got[m].numpy(), want, atol=1e-6)
    s[:, :, 0, 3] = 0.0
    got = rate_correlation(s.float())
    assert torch.isfinite(got).all()
    assert torch.all(got[0, 3] == 0) and torch.all(got[0, :, 3] == 0)


@pytest.mark.parametrize("w", [0, 1, 2, 5, 9])
def test_ccg_correlation_matches_brute_force(w):
    g = torch.Generator().manual_seed(w)
    s = (torch.rand(5, 3, 2, 6, generator=g) < 0.4).double()
    s[:, :, 1, 2] = 0.0  # a silent neuron in cluster 1
    s[0, 0, :, 0] = 1.0  # neuron 0 fires at least once
    got = ccg_correlation(s, w)
    assert torch.isfinite(got).all()
    for m in range(2):
        np.testing.assert_allclose(got[m].numpy(), _ccg_reference(s[:, :, m].numpy(), w),
                                   atol=1e-6)
    assert torch.all(got[1, 2, [0, 1, 3, 4, 5]] == 0)


def test_ccg_window_rules():
    assert ccg_window(4) == 1 and ccg_window(4, "half") == 2
    assert ccg_window(10, "half_minus_one") == 4 and ccg_window(1) == 0
    assert ccg_window(4, 3) == 3 and ccg_window(4, 0) == 0
    with pytest.raises(ValueError, match="half_minus_one"):
        ccg_window(4, "quarter")
    with pytest.raises(ValueError):
        ccg_window(4, -1)
    with pytest.raises(ValueError):
        ccg_window(0)


def test_spatial_loss_matches_scipy():
    g = torch.Generator().manual_seed(1)
    xy = torch.rand(3, 9, 2, generator=g, dtype=torch.float64) * 5
    sim = torch.rand(3, 9, 9, generator=g, dtype=torch.float64)
    got = spatial_loss(sim, xy)
    assert got.shape == (3,)
    for m in range(3):
        pairs = [(i, j) for i in range(9) for j in range(i)]
        s = [float(sim[m, i, j]) for i, j in pairs]
        d = [1 / (float(torch.dist(xy[m, i], xy[m, j])) + 1) for i, j in pairs]
        assert got[m].item() == pytest.approx(0.5 * (1 - pearsonr(s, d)[0]), abs=1e-6)
    np.testing.assert_allclose(inverse_distance(xy)[0, 2, 5].item(),
                               1 / (torch.dist(xy[0, 2], xy[0, 5]).item() + 1))


def test_spatial_loss_extremes_and_degenerate():
    xy = torch.rand(40, 2, generator=torch.Generator().manual_seed(2)) * 8
    target = inverse_distance(xy)
    assert spatial_loss(target, xy).item() == pytest.approx(0.0, abs=1e-6)
    assert spatial_loss(target, xy[torch.randperm(40)]).item() > 0.1
    assert spatial_loss(-target, xy).item() == pytest.approx(1.0, abs=1e-6)
    flat = torch.full((40, 40), 0.3, requires_grad=True)
    loss = spatial_loss(flat, xy)
    loss.backward()
    assert loss.item() == 0.5 and torch.isfinite(flat.grad).all()


def test_topographic_responses_beat_shuffled_positions():
    sheet = _sheet()
    spikes = _synchronous_spikes(_bumps(sheet.xy_mm, 32, seed=3), 6, seed=4)
    perm = np.random.default_rng(5).permutation(sheet.n_units)
    shuffled = sheet.with_xy(sheet.xy_mm[perm])
    out = []
    for sh in (sheet, shuffled):
        stc = STCLoss({"toy": sh}, alpha=1.0, beta=1.0, clusters_per_layer=4, timesteps=6,
                      n_candidate_clusters=50)
        out.append(stc({"toy": spikes}, generator=torch.Generator().manual_seed(0))[1]["toy"])
    assert out[0]["L_L"] < out[1]["L_L"] - 0.1
    assert out[0]["L_S"] < out[1]["L_S"] - 0.1


@pytest.mark.parametrize("silent", ["all", "some"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (0.0, 1.0)])
def test_gradients_finite_and_reach_features(silent, alpha, beta):
    sheet = _sheet()
    x = torch.rand(T, B, 4, 6, 6, generator=torch.Generator().manual_seed(6))
    if silent == "all":
        x.zero_()
    else:
        x[:, :, 0] = 0.0  # channel 0 never fires
        x[:, :, 1, :3] = 0.0
    x.requires_grad_(True)
    stc = STCLoss({"toy": sheet}, alpha=alpha, beta=beta, clusters_per_layer=3, timesteps=T,
                  n_candidate_clusters=20)
    total, _ = stc({"toy": x}, generator=torch.Generator().manual_seed(0))
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(x.grad).all()
    if silent == "all":
        assert total.item() == pytest.approx(0.5 * (alpha + beta))
    else:  # silent units get a gradient of the same order as active ones (not ~1/eps)
        silent, active = x.grad[:, :, 0].abs().max(), x.grad[:, :, 2:].abs().max()
        assert active > 0 and 0 < silent < 100 * active


def test_cluster_losses_beta_zero_and_shapes():
    g = torch.Generator().manual_seed(7)
    s = (torch.rand(T, B, 3, 10, generator=g) < 0.5).float()
    xy = torch.rand(3, 10, 2, generator=g)
    long, short = stc_cluster_losses(s, xy, window=1)
    long0, short0 = stc_cluster_losses(s, xy, window=1, compute_short=False)
    assert long.shape == short.shape == (3,)
    torch.testing.assert_close(long, long0)
    assert torch.all(short0 == 0)
    torch.testing.assert_close(short, spatial_loss(ccg_correlation(s, 1), xy))


def test_stc_loss_module_api():
    sheets = {"a": _sheet("a", 0), "b": _sheet("b", 1)}
    kw = dict(clusters_per_layer=3, timesteps=T, n_candidate_clusters=30)
    stc = STCLoss(sheets, alpha=2.0, beta=3.0, **kw)
    assert "alpha=2.0" in repr(stc) and "W=1" in repr(stc) and "M=3" in repr(stc)
    g = torch.Generator().manual_seed(8)
    feats = {k: (torch.rand(T, B, 4, 6, 6, generator=g) < 0.3).float() for k in sheets}
    feats["extra"] = torch.zeros(3)

    total, stats = stc(feats, generator=torch.Generator().manual_seed(1))
    manual = sum(2.0 * stats[k]["L_L"] + 3.0 * stats[k]["L_S"] for k in sheets)
    assert total.item() == pytest.approx(manual.item(), rel=1e-5)
    assert not stats["a"]["L_L"].requires_grad

    # the same draws by hand, from the flattened [T, B, N] features (LayerPositions order)
    g1 = torch.Generator().manual_seed(1)
    for k, layer in enumerate(sheets):
        rows = torch.randint(getattr(stc, f"_clusters_{k}").shape[0], (3,), generator=g1)
        idx = getattr(stc, f"_clusters_{k}")[rows]
        flat = feats[layer].reshape(T, B, -1)
        long, short = stc_cluster_losses(flat[:, :, idx], torch.tensor(
            sheets[layer].xy_mm)[idx], window=1)
        assert stats[layer]["L_L"].item() == pytest.approx(long.mean().item(), rel=1e-5)
        assert stats[layer]["L_S"].item() == pytest.approx(short.mean().item(), rel=1e-5)

    only_long = STCLoss(sheets, alpha=2.0, beta=0.0, **kw)
    total0, stats0 = only_long(feats, generator=torch.Generator().manual_seed(1))
    assert total0.item() == pytest.approx(sum(2.0 * stats[k]["L_L"] for k in sheets).item(),
                                          rel=1e-5)
    assert all(stats0[k]["L_S"] == 0 for k in sheets)

    with torch.autocast("cpu", dtype=torch.bfloat16):
        total_ac, _ = stc({k: v.bfloat16() for k, v in feats.items()},
                          generator=torch.Generator().manual_seed(1))
    assert total_ac.dtype == torch.float32 and total_ac.item() == pytest.approx(total.item())

    off = STCLoss(sheets, alpha=0.0, beta=0.0, **kw)
    zero, empty = off({"nothing": torch.ones(1)})
    assert zero.item() == 0.0 and not zero.requires_grad and empty == {}

    with pytest.raises(ValueError, match=r"\['b'\].*'a', 'b'"):
        stc({"a": feats["a"]})
    with pytest.raises(ValueError, match="'b'.*143"):
        stc({"a": feats["a"], "b": feats["b"].reshape(T, B, -1)[:, :, :143]})
    with pytest.raises(ValueError, match="half_minus_one"):
        STCLoss(sheets, timesteps=T, window="bad", n_candidate_clusters=30)
    with pytest.raises(ValueError, match="zzz"):
        STCLoss(sheets, timesteps=T, cluster_width_mm={"zzz": 1.0}, n_candidate_clusters=30)


def test_buffers_move_and_cluster_width():
    stc = STCLoss({"a": _sheet("a")}, timesteps=T, n_candidate_clusters=30,
                  cluster_width_mm={"a": 8.0}, max_cluster_units=40)
    assert stc._clusters_0.dtype == torch.int64 and stc._xy_0.dtype == torch.float32
    assert stc._clusters_0.shape[1] == 40 and stc.state_dict() == {}
    stc = stc.to(torch.float64)  # float buffers follow dtype moves; indices stay int64
    assert stc._clusters_0.dtype == torch.int64


def _fused_vs_reference(s: torch.Tensor, xy: torch.Tensor, w: int, weights: torch.Tensor):
    """Losses and input gradients of the fused path and of the reference composition."""
    out = []
    for fn in (fused_cluster_losses, stc_cluster_losses):
        x = s.clone().requires_grad_(True)
        long, short = fn(x, xy, window=w)
        (weights[0] * long + weights[1] * short).sum().backward()
        out.append((long.detach(), short.detach(), x.grad))
    return out


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("q,w,n_t", [(9, 1, 4), (30, 0, 4), (30, 2, 5), (60, 5, 6), (200, 1, 4)])
def test_fused_cluster_losses_match_reference(dtype, q, w, n_t):
    g = torch.Generator().manual_seed(q + w)
    s = (torch.rand(n_t, 24, 5, q, generator=g) < 0.3).to(dtype)
    s[:, :, 1, :3] = 0.0  # silent units
    s[:, :, 2] = 0.0  # a silent cluster: both losses 0.5, zero gradient
    s[:, :, 3, 5] = 1.0  # a unit that always fires: constant rate
    xy = torch.rand(5, q, 2, generator=g, dtype=dtype) * 5
    weights = torch.rand(2, 5, generator=g, dtype=dtype)
    (fl, fs, fg), (rl, rs, rg) = _fused_vs_reference(s, xy, w, weights)
    tol = 1e-12 if dtype == torch.float64 else 2e-6
    torch.testing.assert_close(fl, rl, atol=tol, rtol=0)
    torch.testing.assert_close(fs, rs, atol=tol, rtol=0)
    torch.testing.assert_close(fg, rg, atol=tol * 1e-2, rtol=1e-6 if dtype == torch.float64 else 1e-4)
    assert fl[2].item() == fs[2].item() == 0.5 and torch.all(fg[:, :, 2] == 0)


def test_fused_cluster_losses_graded_inputs_and_large_batch():
    """Non-binary inputs (ReLU rates) take the fp32 path; B x T > 256 rows splits the exact
    bf16 products into chunks; both still equal the reference."""
    g = torch.Generator().manual_seed(11)
    xy = torch.rand(3, 40, 2, generator=g, dtype=torch.float64) * 5
    weights = torch.rand(2, 3, generator=g, dtype=torch.float64)
    graded = torch.rand(1, 32, 3, 40, generator=g).double()
    (fl, fs, fg), (rl, rs, rg) = _fused_vs_reference(graded, xy, 0, weights)
    torch.testing.assert_close((fl, fs, fg), (rl, rs, rg), atol=1e-12, rtol=1e-9)
    spikes = (torch.rand(4, 150, 3, 40, generator=g) < 0.5).float()  # 600 rows: three chunks
    (fl, fs, fg), (rl, rs, rg) = _fused_vs_reference(spikes, xy.float(), 1, weights.float())
    torch.testing.assert_close((fl, fs), (rl, rs), atol=2e-6, rtol=0)
    torch.testing.assert_close(fg, rg, atol=1e-8, rtol=1e-4)


def test_channels_last_features_give_the_same_loss_and_gradient():
    """A channels_last network's features are gathered in their memory order (no copy); the
    loss and the gradient must not change."""
    sheets = {"a": _sheet("a", 0)}
    stc = STCLoss(sheets, alpha=1.0, beta=1.0, clusters_per_layer=3, timesteps=T, n_candidate_clusters=30)
    base = (torch.rand(T * B, 4, 6, 6, generator=torch.Generator().manual_seed(9)) < 0.3).float()
    out = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        x = base.clone(memory_format=fmt).requires_grad_(True)
        total, _ = stc({"a": x.view(T, B, 4, 6, 6)}, generator=torch.Generator().manual_seed(2))
        total.backward()
        out.append((total.detach(), x.grad.contiguous()))
    nhwc = base.contiguous(memory_format=torch.channels_last).view(T, B, 4, 6, 6)
    assert _units_in_memory_order(nhwc)[1] and not _units_in_memory_order(base.view(T, B, 4, 6, 6))[1]
    torch.testing.assert_close(out[0][0], out[1][0], atol=1e-6, rtol=0)
    torch.testing.assert_close(out[0][1], out[1][1], atol=1e-7, rtol=1e-5)
