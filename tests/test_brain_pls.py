"""Exact kernel PLS against scikit-learn's NIPALS run to convergence."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.cross_decomposition import PLSRegression

from topoanalysis.brain.pls import kernel_pls_predict, pearson_columns


def _sklearn_predict(x, y, train, test, n_components):
    model = PLSRegression(n_components=n_components, scale=False, max_iter=20000, tol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x[train], y[train])
    return model.predict(x[test]).reshape(len(test), -1)


@pytest.mark.parametrize("n_images, n_features, n_targets, n_components", [
    (60, 300, 4, 6),   # more features than images (the V4 case)
    (80, 12, 3, 8),    # fewer features than images
    (50, 40, 1, 5),    # PLS1
])
def test_kernel_pls_matches_converged_nipals(n_images, n_features, n_targets, n_components):
    rng = np.random.default_rng(n_features)
    x = rng.normal(size=(n_images, n_features)) @ np.diag(np.linspace(3.0, 0.2, n_features)) + 1.5
    y = x[:, :5] @ rng.normal(size=(min(5, n_features), n_targets)) + 0.3 * rng.normal(size=(n_images, n_targets))
    order = rng.permutation(n_images)
    train, test = np.sort(order[: n_images * 4 // 5]), np.sort(order[n_images * 4 // 5:])
    expected = _sklearn_predict(x, y, train, test, n_components)
    xt = torch.as_tensor(x)
    got = kernel_pls_predict(xt @ xt.T, torch.as_tensor(y), torch.as_tensor(train), torch.as_tensor(test),
                             n_components=n_components).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


def test_kernel_pls_uses_only_the_gram_matrix():
    """Rotating the features leaves X X^T, hence the prediction, unchanged."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 25))
    y = x[:, :2] + 0.1 * rng.normal(size=(40, 2))
    rotation, _ = np.linalg.qr(rng.normal(size=(25, 25)))
    train, test = torch.arange(32), torch.arange(32, 40)
    a = kernel_pls_predict(torch.as_tensor(x @ x.T), torch.as_tensor(y), train, test, n_components=4)
    xr = x @ rotation
    b = kernel_pls_predict(torch.as_tensor(xr @ xr.T), torch.as_tensor(y), train, test, n_components=4)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.numpy(), _sklearn_predict(xr, y, train.numpy(), test.numpy(), 4), rtol=1e-6)


def test_kernel_pls_constant_targets_predict_the_mean_and_bad_components():
    x = torch.randn(20, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = torch.full((20, 2), 3.0, dtype=torch.float64)
    pred = kernel_pls_predict(x @ x.T, y, torch.arange(15), torch.arange(15, 20), n_components=3)
    np.testing.assert_array_equal(pred.numpy(), np.full((5, 2), 3.0))
    with pytest.raises(ValueError, match="n_components"):
        kernel_pls_predict(x @ x.T, y, torch.arange(15), torch.arange(15, 20), n_components=0)


def test_pearson_columns_matches_numpy_and_flags_constant_columns():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    b[:, 2] = 1.0
    r = pearson_columns(torch.as_tensor(a), torch.as_tensor(b)).numpy()
    for j in range(2):
        assert r[j] == pytest.approx(np.corrcoef(a[:, j], b[:, j])[0, 1], abs=1e-12)
    assert np.isnan(r[2])
