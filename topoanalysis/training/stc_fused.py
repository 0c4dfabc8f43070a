"""The STC loss of a batch of clusters, fused: the same values as the reference, fewer passes.

:func:`fused_cluster_losses` computes exactly what
``spatial_loss(rate_correlation(S), xy)`` and ``spatial_loss(ccg_correlation(S, W, eps), xy)``
compute (``topoanalysis.training.stc``, the tested reference), for spikes ``[T, B, M, Q]``, but
is what :class:`~topoanalysis.training.stc.STCLoss` runs while training. Where the time goes in
the reference (2-core CPU, 500-unit clusters): gathering the ``Q (Q - 1) / 2`` lower-triangle
pairs and the dozen elementwise passes (and their autograd twins) over them, not the matrix
products. The fused path:

* reads no pairs: similarity and distance matrices are symmetric, so every sum over ``i > j`` is
  half the sum over ``i != j``; the inverse distances are centred over the pairs with their
  diagonal zeroed once per cluster and shared by ``L_L`` and ``L_S``;
* builds the cross-correlogram once per lag as ``X(t)^T X(t + tau)``; for 0/1 spikes these are
  integer counts, computed exactly in bfloat16 matrix products (fp32 accumulation, at most 256
  rows per product so every count is an integer <= 256, which bfloat16 holds exactly);
* differentiates the two matrix-valued steps by hand: the lag Gram matrix's gradient is one
  product ``Z (G + G^T)`` with ``Z`` the lag-weighted spikes, and the Pearson-over-pairs
  gradient is ``a D_c + b (R - mu)`` off the diagonal (two passes instead of autograd's ~15).

Everything else (silent units, constant units, degenerate clusters, ``eps``) follows the
reference; tests check values and gradients against it to 1e-6.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["fused_cluster_losses", "lag_weights"]

_EXACT_BF16_ROWS = 256  # a sum of <= 256 products of 0/1 values is an integer <= 256: exact in bf16


def lag_weights(timesteps: int, batch: int, window: int) -> list[float]:
    """``1 / (B (T - tau))`` for ``tau = 0..min(W, T - 1)`` (METHODS Eq. 4's normalisation)."""
    return [1.0 / (batch * (timesteps - tau)) for tau in range(min(int(window), timesteps - 1) + 1)]


def _is_binary(x: Tensor) -> bool:
    return x.dtype == torch.float32 and torch.equal(x * x, x)  # x^2 == x only for 0 and 1


def _exact_binary_tn(a: Tensor, b: Tensor) -> Tensor:
    """``a^T b`` for bf16 0/1 ``a``, ``b`` of shape ``[M, K, Q]``, exact in float32: products of <= 256 rows."""
    out = None
    for k in range(0, a.shape[1], _EXACT_BF16_ROWS):
        part = torch.bmm(a[:, k:k + _EXACT_BF16_ROWS].transpose(1, 2), b[:, k:k + _EXACT_BF16_ROWS])
        out = part.float() if out is None else out.add_(part)
    return out


class _LagGram(torch.autograd.Function):
    """``C = sum_{tau=-W..W} w_|tau| sum_t X(t)^T X(t + tau)``: ``X [M, T, B, Q]`` -> ``[M, Q, Q]``.

    ``binary=True`` (``X`` holds only 0 and 1) computes the products in exact bfloat16 chunks.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weights: list[float], binary: bool) -> Tensor:
        ctx.save_for_backward(x)
        ctx.weights = weights
        m, n_t, _, q = x.shape
        operand = x.bfloat16() if binary else x
        out = None
        for tau, w in enumerate(weights):
            a = operand[:, :n_t - tau].reshape(m, -1, q)
            b = operand[:, tau:].reshape(m, -1, q)
            p = _exact_binary_tn(a, b) if binary else a.transpose(1, 2) @ b
            if out is None:  # tau = 0 comes first and is symmetric
                out = p.mul_(w)
            else:  # the lag -tau term is the transpose of the lag tau term
                out.add_(p, alpha=w).add_(p.transpose(1, 2), alpha=w)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        n_t = x.shape[1]
        z = x * ctx.weights[0]  # Z(t) = sum_tau w_|tau| X(t + tau): dC/dX contracts with it
        for tau, w in enumerate(ctx.weights[1:], start=1):
            z[:, :n_t - tau].add_(x[:, tau:], alpha=w)
            z[:, tau:].add_(x[:, :n_t - tau], alpha=w)
        m, q = x.shape[0], x.shape[-1]
        return (z.reshape(m, -1, q) @ (grad + grad.transpose(1, 2))).reshape(x.shape), None, None


class _NormaliseCCG(torch.autograd.Function):
    """``r_ij = C_ij / (rho_i rho_j + eps)`` with ``rho_i = sqrt(C_ii)`` (1 where ``C_ii = 0``).

    ``C`` is symmetric; the gradient goes to ``C`` directly and through ``rho`` to its diagonal.
    """

    @staticmethod
    def forward(ctx, ccg: Tensor, eps: float) -> Tensor:
        acg = ccg.diagonal(dim1=-2, dim2=-1)
        active = acg > 0
        rho = torch.where(active, acg, torch.ones_like(acg)).sqrt()
        denom = torch.baddbmm(torch.full((), eps, dtype=ccg.dtype, device=ccg.device),
                              rho.unsqueeze(-1), rho.unsqueeze(-2))
        r = ccg / denom
        ctx.save_for_backward(r, denom, rho, active)
        return r

    @staticmethod
    def backward(ctx, grad: Tensor):
        r, denom, rho, active = ctx.saved_tensors
        grad_ccg = grad / denom
        # d r_ij / d rho_k = -r_ij (rho_j [i = k] + rho_i [j = k]) / denom_ij
        h = grad_ccg * r
        grad_rho = -((h @ rho.unsqueeze(-1)).squeeze(-1) + (rho.unsqueeze(-2) @ h).squeeze(-2))
        grad_acg = torch.where(active, grad_rho / (2 * rho), torch.zeros_like(rho))
        grad_ccg.diagonal(dim1=-2, dim2=-1).add_(grad_acg)
        return grad_ccg, None


def _sum_squares(x: Tensor) -> Tensor:
    """``sum x^2`` over the last two dims, in one pass without a temporary."""
    return torch.linalg.vector_norm(x, dim=(-2, -1)).square()


def _centred_inverse_distance(xy_mm: Tensor) -> tuple[Tensor, Tensor]:
    """``(Dc, var)``: ``1 / (dist + 1)`` minus its mean over pairs ``i != j``, diagonal zeroed
    (``[M, Q, Q]``), and ``sum_{i > j} Dc_ij^2`` (``[M]``)."""
    q = xy_mm.shape[-2]
    d = torch.cdist(xy_mm, xy_mm, compute_mode="donot_use_mm_for_euclid_dist")  # exact differences
    d = d.add_(1.0).reciprocal_()
    mean = (d.sum((-2, -1)) - q) / (q * (q - 1))  # the diagonal is exactly 1
    d.sub_(mean[:, None, None]).diagonal(dim1=-2, dim2=-1).zero_()
    return d, _sum_squares(d) / 2


class _PairPearsonLoss(torch.autograd.Function):
    """``(1 - Pearson_{i > j}(R_ij, D_ij)) / 2`` per cluster for symmetric ``R [M, Q, Q]``.

    ``dc`` and ``var_d`` come from :func:`_centred_inverse_distance`; ``clip`` clamps ``R`` to
    ``[-1, 1]`` first (correlations pushed past 1 by rounding). A cluster whose pair
    similarities (or distances) have zero variance gets Pearson 0 (loss 0.5, zero gradient).
    """

    @staticmethod
    def forward(ctx, r: Tensor, dc: Tensor, var_d: Tensor, clip: bool) -> Tensor:
        q = r.shape[-1]
        clipped = None
        if clip:  # r.clamp(-1, 1), as rate_correlation does
            clipped = r.abs() > 1
            r = r.clamp(-1.0, 1.0)
        diag = r.diagonal(dim1=-2, dim2=-1)
        mean = (r.sum((-2, -1)) - diag.sum(-1)) / (q * (q - 1))
        rc = r - mean[:, None, None]
        rc.diagonal(dim1=-2, dim2=-1).zero_()
        var_s = _sum_squares(rc) / 2
        cross = (r * dc).sum((-2, -1)) / 2  # sum_{i > j} dc_ij = 0, so r needs no centring here
        prod = var_s * var_d
        good = prod > 0
        root = torch.where(good, prod, torch.ones_like(prod)).sqrt()
        pearson = torch.where(good, cross / root, torch.zeros_like(cross))
        ctx.save_for_backward(rc, dc, root, torch.where(good, var_s, torch.ones_like(var_s)),
                              pearson, good, clipped)
        return 0.5 * (1.0 - pearson)

    @staticmethod
    def backward(ctx, grad: Tensor):
        rc, dc, root, var_s, pearson, good, clipped = ctx.saved_tensors
        # d Pearson / d R_ij = Dc_ij / (2 root) - Pearson (R_ij - mean) / (2 var_s) for i != j
        # (each pair appears twice in the full matrix), 0 on the diagonal
        a = torch.where(good, -0.25 * grad / root, torch.zeros_like(root))
        b = torch.where(good, 0.25 * grad * pearson / var_s, torch.zeros_like(root))
        grad_r = (dc * a[:, None, None]).addcmul_(rc, b[:, None, None])
        return (grad_r if clipped is None else grad_r.masked_fill_(clipped, 0.0)), None, None, None


def fused_cluster_losses(spikes: Tensor, xy_mm: Tensor, *, window: int, eps: float = 1e-8,
                         compute_short: bool = True) -> tuple[Tensor, Tensor]:
    """``(L_L, L_S)``, each ``[M]``, for spikes ``[T, B, M, Q]`` and positions ``[M, Q, 2]``.

    Equal (to rounding) to :func:`topoanalysis.training.stc.stc_cluster_losses`, the reference.
    """
    s = spikes if spikes.is_floating_point() else spikes.float()
    n_t, n_b = s.shape[0], s.shape[1]
    dc, var_d = _centred_inverse_distance(xy_mm.to(s))

    rates = s.mean(0)  # [B, M, Q]
    const = rates.amax(0) == rates.amin(0)  # as rate_correlation: exact test, std 1, grad kept
    x = rates - rates.mean(0, keepdim=True)
    x = x - (x * const).detach()
    var = x.square().sum(0)
    std = torch.where(const, torch.ones_like(var), var).sqrt()
    xn = (x / std).movedim(1, 0).unsqueeze(1)  # [M, 1, B, Q]: correlation = xn^T xn
    long = _PairPearsonLoss.apply(_LagGram.apply(xn, [1.0], False), dc, var_d, True)
    if not compute_short:
        return long, torch.zeros_like(long)
    ccg = _LagGram.apply(s.permute(2, 0, 1, 3).contiguous(), lag_weights(n_t, n_b, window), _is_binary(s))
    return long, _PairPearsonLoss.apply(_NormaliseCCG.apply(ccg, eps), dc, var_d, False)
