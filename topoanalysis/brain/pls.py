"""Exact PLS2 regression in kernel form, for many more features than images.

Brain-Score's ``"pls"`` metric fits scikit-learn's ``PLSRegression(n_components=25,
scale=False)``: NIPALS with the regression deflation, each component's weight vector found
by power iteration (at most 500 iterations, tolerance 1e-6). The converged weight vector
is the leading left singular vector of the deflated cross-covariance ``X_k^T Y_k``, so the
fit is determined exactly by ``X X^T`` (images x images), ``Y`` and the deflations. This
module computes that fixed point directly:

* per component, ``c`` = leading eigenvector of the ``q x q`` matrix ``Y_k^T K_k Y_k``
  (``K_k = X_k X_k^T``); the scores are ``t = K_k Y_k c / sqrt(lambda)``, the weight
  vector is ``w = X_k^T a`` with ``a = Y_k c / sqrt(lambda)``;
* deflation ``X_{k+1} = P X_k``, ``Y_{k+1} = P Y_k`` with ``P = I - t t^T / t^T t``, hence
  ``K_{k+1} = P K_k P``; as ``K`` only ever multiplies a ``Y_k``, which ``P`` leaves unchanged,
  the left-hand ``P K_k`` is all that needs computing;
* predictions ``X*_c R Q^T + mean(Y)`` with the rotations ``R = W (P_x^T W)^+``, evaluated as
  ``K* A (T^T K A / diag(t^T t))^+ Q^T``, where ``A`` holds the ``a`` vectors and ``K*`` is
  the test x train kernel. ``Y_k`` is orthogonal to every earlier score, so is ``a``, hence
  ``X_k^T a = X^T a``: the weights need no mapping back through the deflations.

The cost is one Gram matrix per layer (shared by every split) and ``O(n^2 q)`` per
component, instead of power iterations over all features. Where NIPALS converges the two
agree to round-off; where it stops at its iteration limit (common for 25 components on
spiking features) this is the answer it was iterating towards. Columns of ``Y_k`` that fall
below ``10 eps`` are zeroed and the fit stops early when ``Y_k`` is exhausted, as in
scikit-learn.

Examples
--------
>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> x = torch.randn(40, 20, generator=g, dtype=torch.float64)
>>> y = x[:, :3] @ torch.randn(3, 2, generator=g, dtype=torch.float64)
>>> gram = x @ x.T
>>> pred = kernel_pls_predict(gram, y, torch.arange(30), torch.arange(30, 40), n_components=10)
>>> round(float(torch.corrcoef(torch.stack([pred[:, 0], y[30:, 0]]))[0, 1]), 2)
0.94
"""

from __future__ import annotations

import torch

from ..errors import InputError


def _centred_kernels(gram: torch.Tensor, train: torch.Tensor, test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Train x train and test x train kernels of the features centred on the training mean."""
    k_train = gram[train][:, train]
    k_test = gram[test][:, train]
    row_mean = k_train.mean(0)  # <x_i, mean_train>
    grand = row_mean.mean()  # <mean_train, mean_train>
    k_train_c = k_train - row_mean[:, None] - row_mean[None, :] + grand
    k_test_c = k_test - k_test.mean(1, keepdim=True) - row_mean[None, :] + grand
    return k_train_c, k_test_c


def kernel_pls_predict(gram: torch.Tensor, targets: torch.Tensor, train: torch.Tensor, test: torch.Tensor, *,
                       n_components: int) -> torch.Tensor:
    """Fit PLS2 (scikit-learn's ``PLSRegression(scale=False)`` fixed point) on ``train``; predict ``test``.

    Parameters
    ----------
    gram : torch.Tensor
        ``(n_images, n_images)`` uncentred Gram matrix ``X X^T`` of the features (float64).
    targets : torch.Tensor
        ``(n_images, n_targets)`` responses, same image order.
    train, test : torch.Tensor
        Integer indices of the training and test images.
    n_components : int
        Number of PLS components (fewer are used if ``Y`` is exhausted first).

    Returns
    -------
    torch.Tensor
        ``(len(test), n_targets)`` predictions.
    """
    if n_components < 1:
        raise InputError(f"n_components must be >= 1, got {n_components}")
    k_train, k_test = _centred_kernels(gram, train, test)
    y_train = targets[train]
    y_mean = y_train.mean(0)
    y_k = y_train - y_mean
    k_k = k_train.clone()
    eps = torch.finfo(gram.dtype).eps
    scores, duals, y_loadings = [], [], []
    for _ in range(n_components):
        y_k = torch.where((y_k.abs() < 10 * eps).all(0, keepdim=True), torch.zeros_like(y_k), y_k)
        if not bool((y_k.abs() > eps).any()):
            break  # scikit-learn: "y residual is constant"
        ky = k_k @ y_k
        eigenvalues, eigenvectors = torch.linalg.eigh(y_k.T @ ky)
        top, c = eigenvalues[-1], eigenvectors[:, -1]
        if not bool(top > 0):
            break
        scale = torch.sqrt(top)
        t = ky @ c / scale
        a = y_k @ c / scale
        tt = t @ t
        y_loadings.append(y_k.T @ t / tt)
        k_k = k_k - torch.outer(t, (t / tt) @ k_k)  # P K_k; the right-hand P is a no-op on every later Y_k
        y_k = y_k - torch.outer(t, y_loadings[-1])
        scores.append(t)
        duals.append(a)
    if not scores:
        return y_mean.expand(len(test), -1).clone()
    t_mat, a_mat, q_mat = torch.stack(scores, 1), torch.stack(duals, 1), torch.stack(y_loadings, 1)
    loadings_by_weights = (t_mat.T @ (k_train @ a_mat)) / (t_mat * t_mat).sum(0)[:, None]  # P_x^T W
    rotations = a_mat @ torch.linalg.pinv(loadings_by_weights)
    return k_test @ rotations @ q_mat.T + y_mean


def pearson_columns(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson r of each column of ``a`` with the same column of ``b`` (NaN where one is constant)."""
    da, db = a - a.mean(0), b - b.mean(0)
    denominator = torch.sqrt((da * da).sum(0) * (db * db).sum(0))
    r = (da * db).sum(0) / denominator
    return torch.where(denominator > 0, r, torch.full_like(r, float("nan")))
