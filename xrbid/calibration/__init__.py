"""Standard calibration steps: WCS fit against a reference catalogue, photometric calibration.

`astrometry` fits a WCS to matched reference stars (`calibrate_wcs` runs the whole step);
`terms` parses the dophot3-style term language; `photometric` fits zero point, colour,
extinction and spatial terms (`calibrate_photometry` runs the whole step), with its result in
`photometric_solution`, the reference-catalogue band handling in `reference`, the design
matrix in `_design` and the normal equations, clipping and stepwise selection in `_lsq`.
"""

from .astrometry import WCSFit, calibrate_wcs, fit_wcs, match_to_reference, write_wcs
from .photometric import (
    PhotometricSolution,
    calibrate_photometry,
    choose_reference_columns,
    fit_photometric,
    join_reference,
)
from .terms import TermSyntaxError, parse_terms

__all__ = [
    "PhotometricSolution",
    "TermSyntaxError",
    "WCSFit",
    "calibrate_photometry",
    "calibrate_wcs",
    "choose_reference_columns",
    "fit_photometric",
    "fit_wcs",
    "join_reference",
    "match_to_reference",
    "parse_terms",
    "write_wcs",
]
