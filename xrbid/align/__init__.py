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

from .median import align_median
from .solution import FORMAT, AlignmentSolution, apply_shift, read_solution, read_solution_data
from .wls import QA_FLAGS, WLSOptions, align_wls, align_wls_stacks

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
