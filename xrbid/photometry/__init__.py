"""Optical photometry of counterparts on HST images.

One concept per module: `images` (reading HST files and headers), `background`, `detection`,
`apertures` (aperture photometry with local background and errors), `zeropoints` (ST/AB/Vega),
`apcorr` (EEF and empirical aperture corrections), `magnitudes` (calibrated magnitudes of
positions on one image), `extinction` (A_lambda, dereddening) and `counterparts` (several
filters, one row per candidate). The colour-magnitude diagram is `xrbid.figures.plot_cmd`.
"""

from .apcorr import ApertureCorrection, eef, eef_correction, empirical_aperture_correction
from .apertures import OutsideImageWarning, aperture_photometry, flux_column
from .background import estimate_background
from .counterparts import photometer_counterparts
from .detection import detect_sources, length_in_pixels
from .extinction import a_lambda, a_over_ebv, deredden, extinction_vector, pivot_wavelength
from .images import HSTImage, ImageSpec, PixelOnlyWarning, load_image, parse_image_spec
from .magnitudes import NoInfiniteApertureWarning, measure_magnitudes
from .zeropoints import (
    UnknownVegaFilterWarning,
    ZeroPoints,
    ab_zeropoint,
    image_zeropoints,
    st_zeropoint,
    vega_zeropoint,
)

__all__ = [
    "ApertureCorrection",
    "HSTImage",
    "ImageSpec",
    "NoInfiniteApertureWarning",
    "OutsideImageWarning",
    "PixelOnlyWarning",
    "UnknownVegaFilterWarning",
    "ZeroPoints",
    "a_lambda",
    "a_over_ebv",
    "ab_zeropoint",
    "aperture_photometry",
    "deredden",
    "detect_sources",
    "eef",
    "eef_correction",
    "empirical_aperture_correction",
    "estimate_background",
    "extinction_vector",
    "flux_column",
    "image_zeropoints",
    "length_in_pixels",
    "load_image",
    "measure_magnitudes",
    "parse_image_spec",
    "photometer_counterparts",
    "pivot_wavelength",
    "st_zeropoint",
    "vega_zeropoint",
]
