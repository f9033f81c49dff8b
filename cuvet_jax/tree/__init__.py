"""The exact greedy CUVET tree: binning, histograms, batched split scan, growth, estimator."""

from ._binning import FeatureBins as FeatureBins
from ._binning import fit_bins as fit_bins
from ._estimator import CUVETree as CUVETree
from ._estimator import ExtrapolationWarning as ExtrapolationWarning
from ._grower import GrowthParameters as GrowthParameters
from ._grower import grow_tree as grow_tree
from ._histogram import build_histograms as build_histograms
from ._profile import CriterionProfile as CriterionProfile
from ._profile import criterion_profile as criterion_profile
from ._split import SplitScan as SplitScan
from ._split import scan_splits as scan_splits
from ._tree import Tree as Tree
