"""Astrometric alignment of X-ray positions to an optical or reference frame.

Two methods, one result type:

* `align_median` (``median.py``) — the XRBID method: each X-ray calibrator is matched to its
  nearest optical source; the shift is the median offset (optical − X-ray) per axis and its
  scatter σ_astro the population standard deviation of the offsets.
* `align_wls` / `align_wls_stacks` (``wls.py``) — the translation-only weighted least-squares
  fit of the CSC 2.1 fine-astrometry specification (separation groups, error-ellipse weights,
  Cauchy loss, bounded shifts, proper-motion cut, optional two-step fit through an
  intermediate catalogue, QA flags).

Both return an `AlignmentSolution` (``solution.py``), whose JSON file is read back by
`read_solution` (the one reader, which checks the file's ``format``); `apply_shift` applies
its shift on the tangent plane.
"""

from .._lazy import lazy_dir, lazy_getattr
from .median import align_median
from .solution import FORMAT, AlignmentSolution, apply_shift, read_solution, read_solution_data

# The weighted least-squares fit and its engine are imported on first use: a median alignment
# (the XRBID workflow, and every run configured with it) need not import them.
_LAZY = dict.fromkeys(["QA_FLAGS", "WLSOptions", "align_wls", "align_wls_stacks"], ".wls")
__getattr__ = lazy_getattr(__name__, _LAZY, globals())
__dir__ = lazy_dir(_LAZY, globals())

__all__ = [
    "FORMAT",
    "QA_FLAGS",
    "AlignmentSolution",
    "WLSOptions",
    "align_median",
    "align_wls",
    "align_wls_stacks",
    "apply_shift",
    "read_solution",
    "read_solution_data",
]
