"""Variable projection: the non-linear values and the joint covariance."""

from __future__ import annotations

import numpy as np
import pytest

from xrbid.calibration.nonlinear import full_covariance, profile_chi2, profile_fit


def test_exponential_decay_recovered():
    # y = b exp(-k t) + noise: b linear, k not
    rng = np.random.default_rng(3)
    t = np.linspace(0, 3, 200)
    y = 2.5 * np.exp(-1.3 * t) + rng.normal(0, 0.01, t.size)

    def build(theta):
        return np.exp(-theta[0] * t)[:, None], y

    theta, beta, chi2 = profile_fit(build, np.array([0.5]), np.ones(t.size), np.ones(t.size, bool))
    cov, _, dof = full_covariance(build, theta, beta, np.ones(t.size), np.ones(t.size, bool))
    assert dof == 198
    assert abs(theta[0] - 1.3) < 4 * np.sqrt(cov[1, 1])
    assert abs(beta[0] - 2.5) < 4 * np.sqrt(cov[0, 0])
    assert chi2 == pytest.approx(profile_chi2(build, theta, np.ones(t.size), np.ones(t.size, bool)))


def test_covariance_equals_ordinary_least_squares_for_a_linear_parameter():
    # y = b x + c with c treated as "non-linear" (it enters as y - c): the joint covariance
    # must be that of ordinary weighted least squares for (b, c)
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, 300)
    w = rng.uniform(0.5, 2.0, 300)
    y = 0.7 * x + 0.2 + rng.normal(0, 1, 300) / np.sqrt(w)
    sw = np.sqrt(w)
    rows = np.ones(300, bool)

    def build(theta):
        return x[:, None], y - theta[0]

    theta, beta, _ = profile_fit(build, np.array([0.0]), sw, rows)
    cov, chi2_red, dof = full_covariance(build, theta, beta, sw, rows)
    a = np.column_stack([x, np.ones(300)])
    ref, res, *_ = np.linalg.lstsq(a * sw[:, None], y * sw, rcond=None)
    ref_cov = np.linalg.inv((a * w[:, None]).T @ a) * res[0] / 298
    assert beta[0] == pytest.approx(ref[0], abs=1e-7)
    assert theta[0] == pytest.approx(ref[1], abs=1e-7)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-5)
    assert dof == 298 and chi2_red == pytest.approx(res[0] / 298)


def test_a_value_without_effect_is_refused():
    x = np.linspace(0, 1, 20)

    def build(theta):
        return x[:, None], 2 * x  # theta does nothing

    with pytest.raises(np.linalg.LinAlgError):
        full_covariance(build, np.array([0.0]), np.array([2.0]), np.ones(20), np.ones(20, bool))
