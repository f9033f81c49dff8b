"""cuvet_jax: cost-aware treatment assignment from randomized experiments, in JAX.

The pure maths (power-law fits, mCUV equalization with an implicit-differentiable budget price,
the CUVET criterion) works on pytrees under jit, vmap and grad. `CUVETree` is the estimator.
"""

from ._allocation import INFEASIBLE as INFEASIBLE
from ._allocation import INVALID_INPUT as INVALID_INPUT
from ._allocation import NO_ADMISSIBLE_BUCKET as NO_ADMISSIBLE_BUCKET
from ._allocation import SOLVED as SOLVED
from ._allocation import Allocation as Allocation
from ._allocation import cuvet_criterion as cuvet_criterion
from ._allocation import equalize as equalize
from ._bisection import bisect_increasing as bisect_increasing
from ._kkt import KKTResiduals as KKTResiduals
from ._kkt import kkt_residuals as kkt_residuals
from ._levels import TreatmentLevels as TreatmentLevels
from ._levels import discretize_treatment as discretize_treatment
from ._power_law import PowerLaw as PowerLaw
from ._power_law import fit_power_law as fit_power_law
from ._reference_solver import NumericalAllocation as NumericalAllocation
from ._reference_solver import project_capped_simplex as project_capped_simplex
from ._reference_solver import solve_allocation_numerically as solve_allocation_numerically
from ._statistics import SufficientStatistics as SufficientStatistics
from ._statistics import accumulate_statistics as accumulate_statistics
from .evaluation import Evaluation as Evaluation
from .evaluation import Uplift as Uplift
from .evaluation import budget_curve as budget_curve
from .evaluation import evaluate as evaluate
from .evaluation import evaluate_mcuv as evaluate_mcuv
from .evaluation import evaluate_partition as evaluate_partition
from .evaluation import mcuv_evaluation as mcuv_evaluation
from .evaluation import select_max_depth as select_max_depth
from .evaluation import train_test_split as train_test_split
from .evaluation import train_validation_test_split as train_validation_test_split
from .tree import CUVETree as CUVETree

__version__ = "0.1.0"
