"""Test configuration: float64 everywhere, and hypothesis profiles."""

import os

import jax
import pytest
from hypothesis import HealthCheck, settings

jax.config.update("jax_enable_x64", True)

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("CUVET_HYPOTHESIS_PROFILE", "ci"))

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


@pytest.fixture(scope="session")
def shared_data_dir() -> str:
    """Folder of the real field experiments, beside the repository; skip where it is absent."""
    path = os.path.abspath(os.environ.get("CUVET_DATA_DIR", SHARED_DATA))
    if not os.path.isdir(path):
        pytest.skip(f"real-experiment data folder not found at {path}; set CUVET_DATA_DIR")
    return path
