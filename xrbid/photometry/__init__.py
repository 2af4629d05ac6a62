"""Optical photometry of counterparts on HST images.

One concept per module: `images` (reading HST files and headers), `background`, `detection`,
`apertures` (aperture photometry with local background and errors), `zeropoints` (ST/AB/Vega),
`apcorr` (EEF and empirical aperture corrections), `magnitudes` (calibrated magnitudes of
positions on one image), `extinction` (A_lambda, dereddening) and `counterparts` (several
filters, one row per candidate). The colour-magnitude diagram is `xrbid.figures.plot_cmd`.
"""

from .._lazy import lazy_dir, lazy_getattr

# public name -> module that defines it: imported on first use, so that reading an image
# argument (image_spec) or one module does not load photutils and the whole stack
_LAZY: dict[str, str] = {
    "ApertureCorrection": ".apcorr",
    "HSTImage": ".images",
    "ImageSpec": ".image_spec",
    "NoInfiniteApertureWarning": ".magnitudes",
    "OutsideImageWarning": ".apertures",
    "PixelOnlyWarning": ".images",
    "UnknownVegaFilterWarning": ".zeropoints",
    "ZeroPoints": ".zeropoints",
    "a_lambda": ".extinction",
    "a_over_ebv": ".extinction",
    "ab_zeropoint": ".zeropoints",
    "aperture_photometry": ".apertures",
    "deredden": ".extinction",
    "detect_sources": ".detection",
    "eef": ".apcorr",
    "eef_correction": ".apcorr",
    "empirical_aperture_correction": ".apcorr",
    "estimate_background": ".background",
    "extinction_vector": ".extinction",
    "flux_column": ".apertures",
    "image_zeropoints": ".zeropoints",
    "length_in_pixels": ".detection",
    "load_image": ".images",
    "measure_magnitudes": ".magnitudes",
    "parse_image_spec": ".image_spec",
    "photometer_counterparts": ".counterparts",
    "pivot_wavelength": ".extinction",
    "st_zeropoint": ".zeropoints",
    "vega_zeropoint": ".zeropoints",
}

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


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
__dir__ = lazy_dir(_LAZY, globals())
