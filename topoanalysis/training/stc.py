"""Spatio-temporal constraint (STC) loss of TDSNN (METHODS 1.2, Eqs. 3-7).

For a cluster of ``Q`` units with spikes ``S_i^b(t)`` (``t = 1..T``, trial ``b = 1..B``) and
sheet positions, with ``d_ij = 1 / (||x_i - x_j|| + 1)`` over the pairs ``i > j``:

* long timescale: ``L_L = (1 - P(r, d)) / 2`` with ``r_ij`` the Pearson correlation over
  the batch of the rates ``<S_i^b>_T`` (Eq. 3);
* short timescale: ``L_S = (1 - P(r_CCG, d)) / 2`` with the cross-correlogram coefficient
  ``r_CCG`` of Eqs. 4-5 (Eq. 6);
* total: ``sum_layers mean_clusters (alpha L_L + beta L_S)`` (Eq. 7).

With ``beta = 0`` and any activations (e.g. a ReLU network with ``T = 1``), this is TDANN's
relative spatial loss SL_Rel (METHODS 2.1).

The functions here are the readable reference, each tested against brute force;
:class:`STCLoss` computes the same values through :mod:`.stc_fused` (fewer passes, exact
bfloat16 products for 0/1 spikes), which tests check against them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from ..sheets.neighborhoods import sample_neighborhoods
from ..sheets.positions import LayerPositions
from .stc_fused import fused_cluster_losses

__all__ = ["inverse_distance", "rate_correlation", "ccg_correlation", "ccg_window",
           "spatial_loss", "stc_cluster_losses", "STCLoss"]

_WINDOW_RULES = ("half_minus_one", "half")


def _as_float(x: Tensor) -> Tensor:
    return x if x.is_floating_point() else x.float()


def inverse_distance(xy_mm: Tensor) -> Tensor:
    """``D_ij = 1 / (||x_i - x_j||_2 + 1)`` for positions ``[..., Q, 2]`` -> ``[..., Q, Q]``."""
    xy = _as_float(xy_mm)
    diff = xy.unsqueeze(-2) - xy.unsqueeze(-3)
    return 1.0 / (diff.square().sum(-1).sqrt() + 1.0)


def rate_correlation(spikes: Tensor) -> Tensor:
    """Pearson correlation over the batch of the time-averaged rates (long timescale).

    ``r_ij = PearsonCorr_b(<S_i^b>_T, <S_j^b>_T)`` for spikes ``[T, B, ..., Q]``; the leading
    ``...`` dims (e.g. clusters) are batch dims of one matmul. TDANN's ``corrcoef``
    convention: a unit constant over the batch (``max == min``, tested exactly, so rounding in
    the mean cannot fake a variance) gets std 1, hence correlation 0 with every unit including
    itself, while its gradient stays that of ``cov_ij / std_j`` (as in TDANN, a silent unit is
    pulled towards its neighbours); results are clamped to ``[-1, 1]``.

    Returns
    -------
    Tensor
        ``[..., Q, Q]``.
    """
    rates = _as_float(spikes).mean(0).movedim(0, -2)  # [..., B, Q]
    const = rates.amax(-2) == rates.amin(-2)  # [..., Q]
    x = rates - rates.mean(-2, keepdim=True)
    x = x - (x * const.unsqueeze(-2)).detach()  # exactly 0 for constant units, gradient kept
    cov = x.transpose(-1, -2) @ x
    var = x.square().sum(-2)
    std = torch.where(const, torch.ones_like(var), var).sqrt()  # no sqrt(0): finite grads
    return (cov / (std.unsqueeze(-1) * std.unsqueeze(-2))).clamp(-1.0, 1.0)


def ccg_correlation(spikes: Tensor, window: int, eps: float = 1e-8) -> Tensor:
    """Normalised cross-correlogram ``r_CCG`` (short timescale, METHODS Eqs. 4-5).

    .. math::

        \\mathrm{CCG}(i,j) = \\sum_{\\tau=-W}^{W} \\frac{1}{B\\,(T-|\\tau|)}
            \\sum_b \\sum_t S_i^b(t)\\, S_j^b(t+\\tau),\\qquad
        r_{ij} = \\frac{\\mathrm{CCG}(i,j)}{\\sqrt{\\mathrm{ACG}(i)\\,\\mathrm{ACG}(j)} + \\epsilon}

    with ``ACG(i) = CCG(i, i)``, ``r_ii = 1``, and ``t`` running over the valid overlap (both
    ``t`` and ``t + tau`` in ``1..T``). ``CCG_{-tau} = CCG_tau^T``, so only ``tau = 0..W`` is
    computed (one einsum each). Lags with ``T - |tau| <= 0`` (``W >= T``) have no valid
    pair and ``lambda = max(0, T - |tau|) = 0``: they are skipped. A silent neuron has
    ``CCG = ACG = 0``, hence ``r = 0`` off the diagonal. ``r`` is not clamped: summed over lags
    it can exceed 1 (e.g. two units firing one step apart).

    Parameters
    ----------
    spikes : Tensor
        ``[T, B, ..., Q]``; leading ``...`` dims are batch dims.
    window : int
        Half-width ``W >= 0``.
    eps : float
        Added to the denominator.

    Returns
    -------
    Tensor
        ``[..., Q, Q]``.

    Notes
    -----
    For a silent unit (``ACG = 0``; with non-negative spikes its whole CCG row is exactly 0)
    ``sqrt(ACG)`` is replaced by 1 in the denominator, as TDANN's ``corrcoef`` treats a zero
    std. The values are those of the formula above (``0 / anything = 0``), but the gradient
    with respect to the silent unit's spikes is ``O(1)`` instead of ``O(1 / eps)``, and no
    ``sqrt(0)`` enters the graph.
    """
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 0:
        raise InputError(f"ccg_correlation: window must be an int >= 0, got {window!r}")
    s = _as_float(spikes)
    n_t, n_b = s.shape[0], s.shape[1]
    ccg = None
    for tau in range(min(int(window), n_t - 1) + 1):
        c = torch.einsum("tb...i,tb...j->...ij", s[:n_t - tau], s[tau:]) / (n_b * (n_t - tau))
        c = c if tau == 0 else c + c.transpose(-1, -2)
        ccg = c if ccg is None else ccg + c
    acg = torch.diagonal(ccg, dim1=-2, dim2=-1)
    root = torch.where(acg > 0, acg, torch.ones_like(acg)).sqrt()  # silent: 1 (see Notes)
    r = ccg / (root.unsqueeze(-1) * root.unsqueeze(-2) + eps)
    eye = torch.eye(r.shape[-1], dtype=torch.bool, device=r.device)
    return r.masked_fill(eye, 1.0)


def ccg_window(timesteps: int, rule: str | int = "half_minus_one") -> int:
    """CCG half-width ``W`` for ``T`` timesteps.

    The paper gives the CCG time constant as "T/2 - 1 or T/2" [S]. Rules: ``"half_minus_one"``
    -> ``max(T // 2 - 1, 0)`` (default; [I] inference: the smaller window, W = 1 for T = 4),
    ``"half"`` -> ``T // 2``, or an explicit int ``>= 0``.
    """
    if (isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer))
            or timesteps < 1):
        raise InputError(f"ccg_window: timesteps must be a positive int, got {timesteps!r}")
    if isinstance(rule, (int, np.integer)) and not isinstance(rule, bool):
        if rule < 0:
            raise InputError(f"ccg_window: an explicit window must be >= 0, got {rule}")
        return int(rule)
    if rule == "half_minus_one":
        return max(int(timesteps) // 2 - 1, 0)
    if rule == "half":
        return int(timesteps) // 2
    raise InputError(f"ccg_window: unknown rule {rule!r}; valid rules: {list(_WINDOW_RULES)} "
                     "or an int >= 0")


def spatial_loss(similarity: Tensor, xy_mm: Tensor) -> Tensor:
    """``(1 - Pearson(lowtri(similarity), lowtri(1 / (dist + 1)))) / 2`` per leading index.

    TDANN's SL_Rel and TDSNN's ``L_L`` / ``L_S`` form, over the strictly-lower-triangle pairs
    ``i > j``. In ``[0, 1]``: 0 when similarity is an increasing affine function of inverse
    distance, 1 when decreasing. When either pair vector has zero variance (tested exactly by
    ``max == min``, e.g. all units silent) the Pearson is undefined and is taken as 0, so the
    loss is 0.5 (with zero gradient), never NaN.

    Parameters
    ----------
    similarity : Tensor
        ``[..., Q, Q]`` (only the strictly lower triangle is read).
    xy_mm : Tensor
        ``[..., Q, 2]`` positions; leading dims broadcast with ``similarity``'s.

    Returns
    -------
    Tensor
        Loss with the broadcast leading shape.
    """
    n = similarity.shape[-1]
    if similarity.shape[-2] != n or xy_mm.shape[-2:] != (n, 2):
        raise InputError(f"spatial_loss: need similarity [..., Q, Q] and xy_mm [..., Q, 2], got "
                         f"{tuple(similarity.shape)} and {tuple(xy_mm.shape)}")
    if n < 2:
        raise InputError(f"spatial_loss: need at least 2 units, got {n}")
    i, j = torch.tril_indices(n, n, offset=-1, device=similarity.device)
    s = similarity[..., i, j]
    xy = _as_float(xy_mm).to(similarity.device)
    d = 1.0 / ((xy[..., i, :] - xy[..., j, :]).square().sum(-1).sqrt() + 1.0)
    s, d = torch.broadcast_tensors(s, d.to(s.dtype))
    degenerate = (s.amax(-1) == s.amin(-1)) | (d.amax(-1) == d.amin(-1))
    sc = s - s.mean(-1, keepdim=True)
    dc = d - d.mean(-1, keepdim=True)
    prod = sc.square().sum(-1) * dc.square().sum(-1)
    bad = degenerate | ~(prod > 0)
    r = (sc * dc).sum(-1) / torch.where(bad, torch.ones_like(prod), prod).sqrt()
    return 0.5 * (1.0 - torch.where(bad, torch.zeros_like(r), r))


def stc_cluster_losses(spikes: Tensor, xy_mm: Tensor, *, window: int, eps: float = 1e-8,
                       compute_short: bool = True) -> tuple[Tensor, Tensor]:
    """``(L_L, L_S)``, each ``[M]``, for spikes ``[T, B, M, Q]`` and positions ``[M, Q, 2]``.

    ``L_L = spatial_loss(rate_correlation(S), xy)`` (Eq. 3) and
    ``L_S = spatial_loss(ccg_correlation(S, W, eps), xy)`` (Eq. 6). With
    ``compute_short=False`` no CCG is computed and ``L_S`` is zeros.
    """
    if spikes.dim() != 4 or xy_mm.shape != (*spikes.shape[2:], 2):
        raise InputError(f"stc_cluster_losses: need spikes [T, B, M, Q] and xy_mm [M, Q, 2], got "
                         f"{tuple(spikes.shape)} and {tuple(xy_mm.shape)}")
    long = spatial_loss(rate_correlation(spikes), xy_mm)
    if not compute_short:
        return long, torch.zeros_like(long)
    return long, spatial_loss(ccg_correlation(spikes, window, eps), xy_mm)


def _units_in_memory_order(x: Tensor) -> tuple[Tensor, bool]:
    """``[T, B, N]`` view of features without a copy, and whether its units are in HWC order.

    A channels_last network's ``[T, B, C, H, W]`` features are stored as ``[T, B, H, W, C]``:
    gathering from that view (with the unit indices mapped) keeps the loss's gradient in the
    network's memory format; flattening in CHW order would copy the layer and its gradient.
    """
    if x.dim() == 5 and not x.is_contiguous() and x.permute(0, 1, 3, 4, 2).is_contiguous():
        return x.permute(0, 1, 3, 4, 2).flatten(2), True
    return torch.flatten(x, 2), False


class STCLoss(torch.nn.Module):
    """TDSNN STC loss over several layers (METHODS Eq. 7).

    ``total = sum_k mean_{m=1..M} [alpha L_L(k, m) + beta L_S(k, m)]`` where the ``M`` clusters
    of layer ``k`` are drawn uniformly (with replacement) from ``n_candidate_clusters`` square
    neighbourhoods precomputed at init by :func:`sample_neighborhoods` (a fresh
    ``numpy.random.default_rng(seed)`` per layer). With ``beta = 0`` and any activations (ReLU
    networks, ``T = 1``: pass ``x[None]``) this is TDANN's spatial loss.

    Parameters
    ----------
    sheets : dict of str to LayerPositions
        Layers that get the loss, with unit positions in ``torch.flatten`` order.
    alpha, beta : float
        Weights of ``L_L`` and ``L_S`` (paper default 50, 50). ``beta = 0`` skips the CCG.
    clusters_per_layer : int
        ``M`` (10).
    timesteps : int
        ``T``; features must have it as first dim. Sets the CCG window.
    window : int or str
        A :func:`ccg_window` rule or an explicit half-width.
    cluster_width_mm : dict of str to float, optional
        Cluster side per layer; defaults to the sheet's ``neighborhood_width_mm``.
    max_cluster_units, n_candidate_clusters, seed
        Passed to :func:`sample_neighborhoods` (``max_units``, ``n_neighborhoods``, rng seed).
    eps : float
        Denominator guard of :func:`ccg_correlation`.
    """

    def __init__(self, sheets: Mapping[str, LayerPositions], *, alpha: float = 50.0,
                 beta: float = 50.0, clusters_per_layer: int = 10, timesteps: int,
                 window: int | str = "half_minus_one",
                 cluster_width_mm: Mapping[str, float] | None = None, max_cluster_units: int = 500,
                 n_candidate_clusters: int = 2000, seed: int = 0, eps: float = 1e-8) -> None:
        super().__init__()
        if not sheets:
            raise InputError("STCLoss: sheets is empty")
        for name, value in (("alpha", alpha), ("beta", beta)):
            if not (np.isfinite(value) and value >= 0):
                raise InputError(f"STCLoss: {name} must be finite and >= 0, got {value!r}")
        if isinstance(clusters_per_layer, bool) or not isinstance(clusters_per_layer, int) \
                or clusters_per_layer < 1:
            raise InputError(f"STCLoss: clusters_per_layer must be a positive int, "
                             f"got {clusters_per_layer!r}")
        widths = dict(cluster_width_mm or {})
        unknown = sorted(set(widths) - set(sheets))
        if unknown:
            raise InputError(f"STCLoss: cluster_width_mm has layers {unknown} not in the sheets "
                             f"{list(sheets)}")
        self.alpha, self.beta, self.eps = float(alpha), float(beta), float(eps)
        self.clusters_per_layer = clusters_per_layer
        self.window = ccg_window(timesteps, window)  # validates timesteps too
        self.timesteps = int(timesteps)
        self.layers: list[str] = list(sheets)
        self.n_units: dict[str, int] = {}
        for k, layer in enumerate(self.layers):
            pos = sheets[layer]
            if not isinstance(pos, LayerPositions):
                raise InputError(f"STCLoss: sheet {layer!r} is not a LayerPositions")
            clusters = sample_neighborhoods(pos, n_candidate_clusters,
                                            rng=np.random.default_rng(seed),
                                            width_mm=widths.get(layer), max_units=max_cluster_units)
            self.n_units[layer] = pos.n_units
            self.register_buffer(f"_clusters_{k}", torch.from_numpy(clusters), persistent=False)
            self.register_buffer(f"_xy_{k}", torch.tensor(pos.xy_mm, dtype=torch.float32),
                                 persistent=False)
            unit_at = torch.arange(pos.n_units).view(pos.shape_chw).permute(1, 2, 0).flatten()
            self.register_buffer(f"_hwc_{k}", torch.argsort(unit_at), persistent=False)  # unit -> HWC slot

    def extra_repr(self) -> str:
        return (f"layers={self.layers}, alpha={self.alpha}, beta={self.beta}, "
                f"M={self.clusters_per_layer}, W={self.window}")

    def forward(self, features: Mapping[str, Tensor], generator: torch.Generator | None = None
                ) -> tuple[Tensor, dict[str, dict[str, Tensor]]]:
        """Total STC loss and per-layer detached ``{"L_L": mean, "L_S": mean}``.

        ``features[layer]`` is ``[T, B, C, H, W]`` or ``[T, B, N]`` (extra layers ignored);
        cluster rows come from ``torch.randint(..., generator=generator)`` on the CPU, one draw
        of ``M`` per layer in sheet order. Computed in float32 with autocast disabled. If
        ``alpha == beta == 0`` returns a graph-free zero and ``{}`` without reading features.
        """
        if self.alpha == 0 and self.beta == 0:
            first = next(iter(features.values()), None)
            device = first.device if isinstance(first, Tensor) else self._xy_0.device
            return torch.zeros((), device=device), {}
        missing = [layer for layer in self.layers if layer not in features]
        if missing:
            raise InputError(f"STCLoss: features lack the sheet layers {missing}; sheet layers: "
                             f"{self.layers}; available feature layers: {list(features)}")
        total: Tensor | None = None
        stats: dict[str, dict[str, Tensor]] = {}
        for k, layer in enumerate(self.layers):
            x = features[layer]
            if x.dim() < 3 or x.shape[0] != self.timesteps:
                raise InputError(f"STCLoss: layer {layer!r} features must be [T={self.timesteps}, "
                                 f"B, ...], got shape {tuple(x.shape)}")
            with torch.autocast(device_type=x.device.type, enabled=False):
                flat, channels_last = _units_in_memory_order(x.float())
                if flat.shape[-1] != self.n_units[layer]:
                    raise InputError(f"STCLoss: layer {layer!r} has {flat.shape[-1]} units but its "
                                     f"sheet has {self.n_units[layer]}")
                clusters, xy = getattr(self, f"_clusters_{k}"), getattr(self, f"_xy_{k}")
                rows = torch.randint(clusters.shape[0], (self.clusters_per_layer,),
                                     generator=generator, device="cpu")
                idx = clusters[rows.to(clusters.device)]  # [M, Q]
                where = getattr(self, f"_hwc_{k}")[idx] if channels_last else idx
                spikes = torch.index_select(flat, 2, where.to(flat.device).flatten())  # [T, B, M * Q]
                long, short = fused_cluster_losses(
                    spikes.unflatten(2, idx.shape), xy[idx].to(flat.device), window=self.window,
                    eps=self.eps, compute_short=self.beta != 0)
                term = (self.alpha * long + self.beta * short).mean()
            total = term if total is None else total + term
            stats[layer] = {"L_L": long.mean().detach(), "L_S": short.mean().detach()}
        return total, stats
