"""Standard calibration steps: WCS fit against a reference catalogue, photometric calibration.

`astrometry` fits a WCS to matched reference stars; `terms` parses the dophot3-style term
language; `photometric` fits zero point, colour, extinction and spatial terms.
"""

from .astrometry import WCSFit, calibrate_wcs, fit_wcs, match_to_reference, write_wcs
from .photometric import PhotometricSolution, fit_photometric, join_reference
from .terms import TermSyntaxError, parse_terms

__all__ = [
    "PhotometricSolution",
    "TermSyntaxError",
    "WCSFit",
    "calibrate_wcs",
    "fit_photometric",
    "fit_wcs",
    "join_reference",
    "match_to_reference",
    "parse_terms",
    "write_wcs",
]
