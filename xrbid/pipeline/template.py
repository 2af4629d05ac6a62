"""The commented configuration template of ``xrbid run --init NAME``."""

from __future__ import annotations

import re

from ..errors import InputError

__all__ = ["TEMPLATE", "file_stem", "template"]

TEMPLATE = """\
# xrbid run configuration for {name}: `xrbid run {file}` runs every step and writes
# the outputs and report.html into [outputs].folder. Paths are relative to this file.
# Commented keys show their defaults.

[galaxy]
name = "{name}"
# ra = 210.80225          # centre, deg (needed by [xray.query])
# dec = 54.34894
# distance_mpc = 6.4      # distance, for absolute magnitudes
# ebv = 0.008             # foreground E(B-V), mag

[xray]
table = "cscresults_{stem}.vot"   # a CSC table: CSCview VOTable/CSV, TAP result, XRBID frame
# or a CSC TAP cone search about [galaxy] ra/dec instead of table:
# [xray.query]
# release = "2.1"         # "2.1" or "2.0"
# radius = "15arcmin"
# offline = false        # true: use only answers cached earlier
# url = "https://..."     # another TAP service (default: the release's)

[calibrators]
# exactly one of: ids = [...], file = "calibrators.txt" (one CSC name a line), ds9 = true
ids = ["2CXO J140251.0+542420", "2CXO J140248.0+542403"]
# ds9 = true              # pick them by eye in a running DS9 (recolour the kept ones)
# ds9_target = "ds9"      # which DS9 (title); ds9_mark = "color" | "selected" | "delete"

[optical]
sources = "f555w_sources.reg"     # optical source list: a table with ra/dec or a fk5 .reg file
# or images per filter (path[ext] or path[chip=N]); sources are then detected on one of them
# [optical.images]
# F555W = "f555w_drc.fits[1]"
# F814W = "f814w_drc.fits[1]"
# [optical.detection]
# filter = "F555W"        # image to detect on (default: the first)
# fwhm = "2pix"           # or an angle, "0.1arcsec"
# threshold = 5.0         # sigma above the background

[alignment]
# method = "median"       # "median" (XRBID) or "wls" (CSC 2.1 weighted least squares)
# reference = "calibrators_optical.reg"   # optical positions to match (default: [optical])
# max_sep = "2arcsec"     # largest calibrator-optical separation
# clip = 3.0              # sigma-clipping of the offsets (default: none)
# apply = "if-significant"   # or "always", "never": shift the X-ray positions

[radii]
# fallback = "ellipse"    # rows Kim+07 does not cover: "ellipse" (CSC err_r0), "zero", "none"
# clamp = true            # counts above 10**3.3 evaluated at the fit's bright end

[counterparts]
# radius = "2sigma"       # search radius: "2sigma" or "1sigma"

[photometry]              # used with [optical.images]
# radius = "3pix"         # aperture, pixels or an angle
# apcorr = "auto"         # "auto" (EEF tables / bright stars), "none" or a number (mag)
# system = "vega"         # "vega", "ab" or "st"
# cmd = ["F555W", "F814W"]   # [blue, red] of the colour-magnitude diagram

# [classify]              # chance coincidences, match probabilities, donor masses, XRB classes
# models = "mist.iso.cmd" # MIST/PARSEC models in the images' bands (needs [galaxy] distance_mpc)
# density = 0.05          # optical sources per arcsec^2 (default: local, from [optical])
# annulus = [5.0, 20.0]   # arcsec, the local-density annulus about each X-ray source
# completeness = 0.5      # prior fraction of X-ray sources with an optical counterpart
# colour = ["F555W", "F814W"]   # CMD of the masses (default: the first two filters)
# mass_limits = [3.0, 8.0]      # Msun: low / intermediate / high-mass donors

[outputs]
folder = "{stem}-output"
# figures = ["alignment", "cmd", "finders"]
# region_2sigma = {{ color = "magenta", width = 2 }}
# region_1sigma = {{ color = "cyan", width = 1 }}
# region_calibrators = {{ color = "yellow", width = 2 }}
# region_candidates = {{ color = "green", width = 1 }}
"""


def template(name: str, file: str | None = None) -> str:
    """A commented configuration template for the galaxy ``name`` (TOML text)."""
    # a letter or digit first: "." or ".." would name the file "..toml" or "...toml"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.+-]*", name):
        raise InputError(
            f"galaxy name {name!r}: start with a letter or digit, then use letters, digits, "
            "spaces and _ . + - only"
        )
    return TEMPLATE.format(name=name, stem=file_stem(name), file=file or f"{file_stem(name)}.toml")


def file_stem(name: str) -> str:
    """A file-name form of a galaxy name: ``"NGC 1313"`` -> ``"ngc1313"``."""
    return re.sub(r"[^a-z0-9_.+-]", "", name.lower()) or "galaxy"
