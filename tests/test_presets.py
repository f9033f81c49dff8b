"""Tests of the real-experiment presets on the field-experiment tables."""

import numpy as np
import pytest

from cuvet_jax.datasets import (
    PRESETS,
    balance_check,
    balance_warnings,
    get_preset,
    karlan_zinman_reference_rate,
)


@pytest.fixture(scope="module")
def karlan_list(shared_data_dir):
    return get_preset("karlan-list").load(shared_data_dir)


@pytest.fixture(scope="module")
def karlan_zinman(shared_data_dir):
    return get_preset("karlan-zinman").load(shared_data_dir)


def _log_log_slope(alpha: np.ndarray, outcome: np.ndarray, groups: np.ndarray) -> float:
    """Return the count-weighted least-squares slope of log(group mean outcome) on log(group mean alpha)."""
    labels = np.unique(groups)
    counts = np.array([np.sum(groups == k) for k in labels], dtype=float)
    log_alpha = np.log([alpha[groups == k].mean() for k in labels])
    log_mean = np.log([outcome[groups == k].mean() for k in labels])
    design = np.column_stack([np.ones_like(log_alpha), log_alpha])
    weights = np.sqrt(counts)
    coefficients, *_ = np.linalg.lstsq(design * weights[:, None], log_mean * weights, rcond=None)
    return float(coefficients[1])


def test_registry_names():
    assert sorted(PRESETS) == ["karlan-list", "karlan-zinman"]
    for name, preset in PRESETS.items():
        assert preset.name == name
        assert preset.unmet_assumptions
        assert "Assumptions the data do not meet" in type(preset).__doc__


def test_get_preset_unknown_name():
    with pytest.raises(ValueError, match=r"unknown preset 'karlan'; valid names: \['karlan-list', 'karlan-zinman'\]"):
        get_preset("karlan")


def test_preset_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"karlan-list table not found at .*charitable\.csv\.gz"):
        get_preset("karlan-list").load(tmp_path)


def test_karlan_list_rows_and_levels(karlan_list):
    assert karlan_list.n_rows == 50_083 - 16_687 - 2
    assert np.unique(karlan_list.alpha).tolist() == [0.5, 1.0, 1.5]
    counts = [int(np.sum(karlan_list.alpha == level)) for level in (0.5, 1.0, 1.5)]
    assert sum(counts) == karlan_list.n_rows
    assert counts[1] == 11_134
    np.testing.assert_array_equal(karlan_list.cost, 2 * karlan_list.alpha * karlan_list.value)
    assert np.all(np.isfinite(karlan_list.X))
    assert "16687 control letters and 2 rows without out_amountgive dropped" in karlan_list.description


def test_karlan_list_missing_code(karlan_list):
    female = karlan_list.X[:, karlan_list.feature_names.index("female")]
    assert set(np.unique(female)) == {-999.0, 0.0, 1.0}


def test_karlan_list_elasticities(karlan_list):
    alpha, value, cost = karlan_list.alpha, karlan_list.value, karlan_list.cost
    assert _log_log_slope(alpha, value, alpha) == pytest.approx(0.011, abs=0.002)
    assert _log_log_slope(alpha, cost, alpha) == pytest.approx(1.011, abs=0.002)

    red = karlan_list.X[:, karlan_list.feature_names.index("red0")] == 1
    red_means = [value[red & (alpha == level)].mean() for level in (0.5, 1.0, 1.5)]
    np.testing.assert_allclose(red_means, [0.99, 1.10, 1.09], atol=0.005)
    blue = karlan_list.X[:, karlan_list.feature_names.index("red0")] == 0
    assert _log_log_slope(alpha[blue], value[blue], alpha[blue]) < 0


def test_karlan_list_balanced(karlan_list):
    table = balance_check(karlan_list.X, karlan_list.alpha, karlan_list.feature_names)
    assert balance_warnings(table, threshold=0.05) == []


def test_karlan_zinman_rows_and_features(karlan_zinman):
    assert karlan_zinman.n_rows == 53_810 - 256
    assert karlan_zinman.feature_names[0] == "risk"
    risk = karlan_zinman.X[:, 0]
    assert [int(np.sum(risk == code)) for code in (0, 1, 2)] == [6_383, 4_862, 42_309]
    assert np.all(np.isfinite(karlan_zinman.X))
    assert set(np.unique(karlan_zinman.value)) == {0.0, 1.0}
    assert np.all((karlan_zinman.cost > 0) == (karlan_zinman.value == 1))
    assert "Gauteng=2" in karlan_zinman.description


def test_karlan_zinman_alpha_reference(karlan_zinman):
    groups = karlan_zinman.extra["alpha_group"]
    assert np.unique(groups).tolist() == [0, 1, 2, 3, 4]
    assert karlan_zinman.alpha[groups == 2].mean() == pytest.approx(1.0, abs=1e-12)
    group_means = [karlan_zinman.alpha[groups == k].mean() for k in range(5)]
    assert np.all(np.diff(group_means) > 0)

    offer = karlan_zinman.extra["offer4"]
    reference = karlan_zinman_reference_rate(offer)
    np.testing.assert_allclose(karlan_zinman.alpha, reference / offer, rtol=1e-15)
    assert reference == pytest.approx(7.9463, abs=1e-4)


def test_karlan_zinman_band_elasticities(karlan_zinman):
    from cuvet_jax.datasets._balance import _quantile_groups

    expected = {2: (0.313, 0.422), 0: (0.329, 0.499)}  # HIGH and LOW bands
    for code, (value_slope, cost_slope) in expected.items():
        band = karlan_zinman.subset(karlan_zinman.X[:, 0] == code)
        groups = _quantile_groups(band.alpha, 5)
        assert _log_log_slope(band.alpha, band.value, groups) == pytest.approx(value_slope, abs=0.002)
        assert _log_log_slope(band.alpha, band.cost, groups) == pytest.approx(cost_slope, abs=0.002)


def test_karlan_zinman_balance_flags_risk(karlan_zinman):
    table = balance_check(karlan_zinman.X, karlan_zinman.alpha, karlan_zinman.feature_names)
    assert table.loc[0, "feature"] == "risk"
    assert table.loc[0, "max_abs_smd"] > 0.5
    assert table.loc[0, "n_levels"] == 5
    warnings = balance_warnings(table)
    assert any("'risk'" in warning for warning in warnings)
