"""Synthetic generators, real-experiment presets and file readers."""

from ._experiment_data import ExperimentData as ExperimentData
from ._threshold_example import make_threshold_example as make_threshold_example
