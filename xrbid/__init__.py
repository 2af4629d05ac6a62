"""xrbid: optical counterparts of X-ray binaries in nearby galaxies.

The library is importable without Click, without DS9 and without network access; the command
line (``xrbid``) is a thin shell over it. The public functions of every step are available
from the top level (``xrbid.read_table``, ``xrbid.positional_uncertainty``, ...); they are
imported on first use, so ``import xrbid`` does not pull in photutils, pyvo or pyds9.
"""

from __future__ import annotations

from . import errors as _errors
from ._lazy import lazy_dir, lazy_getattr
from ._version import __version__

# every error and warning type (the one list is errors.__all__); XrbidWarning, whose base
# class is astropy's, is made on first use, so that `import xrbid` does not import astropy
globals().update({n: getattr(_errors, n) for n in _errors.__all__ if n != "XrbidWarning"})

# public name -> module that defines it
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        ["read_table", "write_table", "unique_sources", "select_sources"], "xrbid.tables"
    ),
    **dict.fromkeys(
        ["SCHEMA", "normalize_columns", "require_columns", "numeric_column"], "xrbid.schema"
    ),
    **dict.fromkeys(
        ["format_regions", "write_regions", "read_regions", "parse_regions", "RegionStyle"],
        "xrbid.regions",
    ),
    **dict.fromkeys(
        [
            "tangent_plane",
            "from_tangent_plane",
            "separation_arcsec",
            "match_nearest",
            "match_within",
        ],
        "xrbid.sky",
    ),
    **dict.fromkeys(
        ["AlignmentSolution", "align_median", "align_wls", "align_wls_stacks", "apply_shift"],
        "xrbid.align",
    ),
    **dict.fromkeys(
        ["kim07_radii", "positional_uncertainty", "method_counts"], "xrbid.uncertainty"
    ),
    **dict.fromkeys(
        [
            "best_observations",
            "find_counterparts",
            "merge_optical_catalogs",
            "write_counterpart_regions",
        ],
        "xrbid.selection",
    ),
    **dict.fromkeys(
        [
            "load_image",
            "detect_sources",
            "aperture_photometry",
            "measure_magnitudes",
            "photometer_counterparts",
            "image_zeropoints",
            "deredden",
            "a_lambda",
            "extinction_vector",
        ],
        "xrbid.photometry",
    ),
    **dict.fromkeys(
        [
            "classify_candidates",
            "chance_coincidences",
            "false_match_rate",
            "association_probabilities",
            "read_models",
            "donor_masses",
            "classify_sources",
        ],
        "xrbid.classify",
    ),
    **dict.fromkeys(
        ["plot_cmd", "finder_chart", "write_finder_charts", "save_figure"], "xrbid.figures"
    ),
    **dict.fromkeys(["paper_table", "write_paper_table"], "xrbid.paper_tables"),
    **dict.fromkeys(["query_csc", "query_gaia"], "xrbid.archives"),
    **dict.fromkeys(["fit_wcs", "calibrate_wcs"], "xrbid.calibration.astrometry"),
    **dict.fromkeys(
        ["fit_photometric", "join_reference", "calibrate_photometry"],
        "xrbid.calibration.photometric",
    ),
    "parse_terms": "xrbid.calibration.terms",
    "DS9": "xrbid.ds9",
    "XrbidWarning": "xrbid.errors",
}

__all__ = [*_errors.__all__, "__version__", *sorted(set(_LAZY) - set(_errors.__all__))]

__getattr__ = lazy_getattr(__name__, _LAZY, globals())
__dir__ = lazy_dir(_LAZY, globals())
