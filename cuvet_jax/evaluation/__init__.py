"""Evaluation of partitions and policies: mCUV equalization, splits."""

from ._mcuv import Uplift as Uplift
from ._mcuv import evaluate_mcuv as evaluate_mcuv
from ._mcuv import mcuv_evaluation as mcuv_evaluation
from ._mcuv import uplift_at as uplift_at
from ._splits import train_test_split as train_test_split
