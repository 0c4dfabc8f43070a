"""t-values against scipy's Welch computation, and silent units."""

import numpy as np
import pytest
from scipy import stats

from topoanalysis.metrics.selectivity import domain_t_values, silent_units, welch_t


@pytest.mark.parametrize("ddof", [0, 1])
def test_welch_t_equals_scipy(ddof):
    rng = np.random.default_rng(0)
    responses = rng.gamma(2.0, 1.0, (30, 12))
    on = np.zeros(30, bool)
    on[:7] = True
    a, b = responses[on], responses[~on]
    expected = stats.ttest_ind_from_stats(a.mean(0), a.std(0, ddof=ddof), len(a), b.mean(0), b.std(0, ddof=ddof),
                                          len(b), equal_var=False).statistic
    np.testing.assert_allclose(welch_t(responses, on, ddof=ddof), expected, rtol=1e-12)
    if ddof == 1:
        np.testing.assert_allclose(welch_t(responses, on, ddof=1),
                                   stats.ttest_ind(a, b, equal_var=False).statistic, rtol=1e-12)


def test_constant_unit_gets_zero_and_silent_unit_nan():
    responses = np.zeros((20, 3))
    responses[:, 1] = 0.5  # responds, but the same to everything
    responses[:10, 2] = 1.0  # responds only to the first domain
    domains = np.repeat(["faces", "places"], 10)
    table = domain_t_values(responses, domains, contrasts=("faces", "places"))
    assert table["silent"].tolist() == [True, False, False]
    assert np.isnan(table.loc[0, "t_faces"]) and table.loc[1, "t_faces"] == 0.0
    assert table.loc[2, "t_faces"] == 0.0  # zero variance on both sides: TDANN's t = 0
    np.testing.assert_array_equal(silent_units(responses), [True, False, False])


def test_domain_contrast_signs_and_errors():
    rng = np.random.default_rng(1)
    domains = np.repeat(["faces", "bodies", "places"], 20)
    responses = rng.random((60, 4))
    responses[domains == "faces", 0] += 2.0
    table = domain_t_values(responses, domains, contrasts=("faces", "bodies", "places"))
    assert table.loc[0, "t_faces"] > 10 and table.loc[0, "t_bodies"] < -3
    with pytest.raises(ValueError, match="no stimuli of domain"):
        domain_t_values(responses, domains, contrasts=("faces", "objects"))
    with pytest.raises(ValueError, match="flag each"):
        welch_t(responses, np.ones(3, bool))
