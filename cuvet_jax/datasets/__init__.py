"""Synthetic generators, real-experiment presets and file readers."""

from ._balance import balance_check as balance_check
from ._balance import balance_warnings as balance_warnings
from ._experiment_data import ExperimentData as ExperimentData
from ._policy_schema import POLICY_LEVELS as POLICY_LEVELS
from ._policy_schema import POLICY_SCHEMA_COLUMNS as POLICY_SCHEMA_COLUMNS
from ._policy_schema import PolicySchemaTruth as PolicySchemaTruth
from ._policy_schema import load_policy_schema as load_policy_schema
from ._policy_schema import make_policy_schema_data as make_policy_schema_data
from ._policy_schema import policy_schema_bucket as policy_schema_bucket
from ._policy_schema import policy_schema_truth as policy_schema_truth
from ._policy_schema import write_policy_schema_file as write_policy_schema_file
from ._presets import PRESETS as PRESETS
from ._presets import Preset as Preset
from ._presets import default_data_dir as default_data_dir
from ._presets import get_preset as get_preset
from ._presets import karlan_zinman_reference_rate as karlan_zinman_reference_rate
from ._readers import experiment_from_frame as experiment_from_frame
from ._readers import iter_table_chunks as iter_table_chunks
from ._readers import read_table as read_table
from ._threshold_example import make_threshold_example as make_threshold_example
