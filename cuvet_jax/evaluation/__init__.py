"""Evaluation of partitions and policies: mCUV equalization, ILP, LP, bootstrap, budget curves, splits."""

from ._bootstrap import Interval as Interval
from ._bootstrap import bootstrap_statistics as bootstrap_statistics
from ._budget_curve import BudgetCurve as BudgetCurve
from ._budget_curve import budget_curve as budget_curve
from ._evaluate import Evaluation as Evaluation
from ._evaluate import evaluate as evaluate
from ._knapsack import KnapsackSolution as KnapsackSolution
from ._knapsack import brute_force_mckp as brute_force_mckp
from ._knapsack import lp_value_curve as lp_value_curve
from ._knapsack import solve_mckp_ilp as solve_mckp_ilp
from ._knapsack import solve_mckp_lp as solve_mckp_lp
from ._mcuv import Uplift as Uplift
from ._mcuv import evaluate_mcuv as evaluate_mcuv
from ._mcuv import mcuv_evaluation as mcuv_evaluation
from ._mcuv import uplift_at as uplift_at
from ._model_selection import select_max_depth as select_max_depth
from ._partition import PartitionEvaluation as PartitionEvaluation
from ._partition import choose_levels as choose_levels
from ._partition import evaluate_partition as evaluate_partition
from ._partition import level_tables as level_tables
from ._partition import score_levels as score_levels
from ._splits import train_test_split as train_test_split
from ._splits import train_validation_test_split as train_validation_test_split
