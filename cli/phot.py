"""``xrbid phot``: detection, aperture photometry and counterpart magnitudes on HST images."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any

import click

from xrbid.errors import InputError

from ._common import XrbidGroup, check_outputs, emit
from ._options import (
    filter_values,
    json_option,
    option_group,
    output_option,
    overwrite_option,
    plot_option,
)

LENGTH_HELP = "an angle (0.1arcsec) or pixels (2.5pix)"


class LengthParam(click.ParamType):
    """A length on the image: an angle (``0.1arcsec``) or pixels (``2.5pix``, bare number)."""

    name = "length"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        from astropy import units as u

        if isinstance(value, u.Quantity):
            return value
        text = str(value).strip().replace('"', "arcsec").replace("px", "pix")
        text = text.replace("pixx", "pix")
        try:
            q = u.Quantity(text)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a length; write it like 0.1arcsec or 3pix", param, ctx)
        if q.unit == u.dimensionless_unscaled:
            return q.value * u.pix
        if q.unit.physical_type == "angle" or q.unit == u.pix:
            return q
        self.fail(f"{value!r} is not a length; write it like 0.1arcsec or 3pix", param, ctx)


LENGTH = LengthParam()
DEFAULT_FWHM = "0.1arcsec"
_OUT = click.Path(dir_okay=False)  # photometry outputs are passed on as given (str)

_radius_option = click.option(
    "--radius",
    type=LENGTH,
    default="3pix",
    show_default=True,
    help=f"Measurement aperture radius: {LENGTH_HELP}.",
)
_apcorr_fwhm_option = click.option(
    "--fwhm",
    type=LENGTH,
    default=DEFAULT_FWHM,
    show_default=True,
    help="FWHM used to find aperture-correction stars.",
)


def _apcorr_option(help: str):
    """``--apcorr auto|none|MAG`` (read with :func:`_apcorr_value`)."""
    return click.option("--apcorr", default="auto", show_default=True, help=help)


def _check_default_fwhm(images: list) -> None:
    """Refuse the angular default ``--fwhm`` on an image without WCS, naming the default.

    Without this the user, who gave no ``--fwhm``, would read that "an angular fwhm"
    cannot be turned into pixels.
    """
    from click.core import ParameterSource

    ctx = click.get_current_context()
    if ctx.get_parameter_source("fwhm") is not ParameterSource.DEFAULT:
        return
    for img in images:
        if img.pixel_scale is None:
            raise InputError(
                f"{img.label} has no WCS, so the default --fwhm {DEFAULT_FWHM} cannot be "
                "turned into pixels; pass --fwhm Npix (e.g. --fwhm 2pix)"
            )


def _load(spec: str, ext: str | None, chip: int | None, **kwargs: Any):
    from xrbid.photometry import load_image
    from xrbid.photometry.images import parse_image_spec

    image = parse_image_spec(spec)
    path, options = image.path, image.options
    if ext is not None:
        options["ext"] = int(ext) if ext.isdigit() else ext
    if chip is not None:
        options["chip"] = chip
    return load_image(path, **options, **{k: v for k, v in kwargs.items() if v is not None})


@contextmanager
def _bar(length: int, label: str, show: bool):
    """A progress bar on stderr (so ``--json`` output stays clean); no-op when hidden."""
    if not show:
        yield lambda n: None
        return
    with click.progressbar(length=length, label=label, file=click.get_text_stream("stderr")) as bar:
        yield bar.update


_image_options = option_group(
    [
        click.option("--ext", help="FITS extension: 1, SCI or SCI,2 (default: first SCI)."),
        click.option("--chip", type=int, help="Group of a WFPC2 GEIS waiver file (c0f), 1-4."),
        click.option("--exptime", type=float, help="Exposure time (s) overriding EXPTIME."),
        click.option(
            "--mask",
            type=click.Path(dir_okay=False),
            help="Pixels to ignore: a FITS image (non-zero = masked) or a DS9 region file "
            "(inside = masked). Pixels outside a drizzled footprint are always masked.",
        ),
    ],
    "image_options",
    dict,
)
"""``--ext``, ``--chip``, ``--exptime``, ``--mask``: how IMAGE is loaded (a dict for `_load`)."""


@click.group(cls=XrbidGroup)
def phot() -> None:
    """Optical photometry on HST images: detect, measure, counterparts.

    \b
    On M101 (ACS/WFC F555W and F814W drizzled images):
      xrbid phot detect f555w_drc.fits -o f555w_sources.ecsv --fwhm 0.1arcsec \\
          --regions f555w_sources.reg
      xrbid phot measure f555w_drc.fits --positions f555w_sources.ecsv -o f555w_phot.ecsv
      xrbid phot counterparts m101_candidates.ecsv --image F555W=f555w_drc.fits \\
          --image F814W=f814w_drc.fits -o m101_cand_phot.ecsv --plot m101_cmd.png
    """


@phot.command("detect")
@click.argument("image")
@output_option("Source table (.ecsv, .csv, .fits, ...).", type=_OUT)
@click.option(
    "--fwhm", type=LENGTH, default=DEFAULT_FWHM, show_default=True, help=f"PSF FWHM: {LENGTH_HELP}."
)
@click.option(
    "--threshold",
    "threshold_sigma",
    type=float,
    default=3.0,
    show_default=True,
    help="Detection threshold in units of the background RMS.",
)
@click.option("--finder", type=click.Choice(["dao", "iraf"]), default="dao", show_default=True)
@click.option("--sharpness", nargs=2, type=float, help="Sharpness range LO HI.")
@click.option("--roundness", nargs=2, type=float, help="Roundness range LO HI.")
@click.option(
    "--regions",
    "regions_path",
    type=_OUT,
    help="Also write a DS9 region file of the sources.",
)
@_image_options
@overwrite_option
@json_option
def detect(
    image,
    output,
    fwhm,
    threshold_sigma,
    finder,
    sharpness,
    roundness,
    regions_path,
    image_options,
    overwrite,
    as_json,
) -> None:
    """Detect point sources on IMAGE (background subtracted first) and write their table.

    Pixel columns x, y are 0-based (photutils); ra, dec come from the image WCS.

    \b
    Example (M101 walkthrough):
      xrbid phot detect f555w_drc.fits -o f555w_sources.ecsv --fwhm 0.1arcsec \\
          --regions f555w_sources.reg
    """
    from xrbid.photometry import detect_sources
    from xrbid.photometry.detection import write_detection_regions
    from xrbid.tables import write_table

    check_outputs(overwrite, output, regions_path or None)
    img = _load(image, **image_options)
    _check_default_fwhm([img])
    ny, nx = img.shape
    with _bar(nx * ny, "detecting", nx * ny > 2048 * 2048 and not as_json) as update:
        sources = detect_sources(
            img,
            fwhm=fwhm,
            threshold_sigma=threshold_sigma,
            finder=finder,
            sharpness_range=sharpness or None,
            roundness_range=roundness or None,
            progress=update,
        )
    write_table(sources, output, overwrite=overwrite)
    if regions_path:
        write_detection_regions(sources, img, regions_path, overwrite=overwrite)
    emit(
        f"{len(sources)} sources on {img.label} ({img.filter or 'filter?'}) -> {output}",
        {
            "n_sources": len(sources),
            "output": str(output),
            "regions": regions_path,
            **sources.attrs,
        },
        as_json,
    )


def _apcorr_value(text: str) -> Any:
    text = text.strip().lower()
    if text == "auto":
        return "auto"
    if text == "none":
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: use auto, none or a number of magnitudes") from exc


@phot.command("measure")
@click.argument("image")
@click.option(
    "--positions",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Table with x, y (0-based pixels) or ra, dec columns (e.g. from detect).",
)
@output_option(type=_OUT)
@_radius_option
@click.option(
    "--large-radius",
    type=LENGTH,
    help="Large aperture of the empirical correction (default 0.4arcsec).",
)
@click.option(
    "--annulus",
    nargs=2,
    type=LENGTH,
    help="Background annulus R_IN R_OUT (default: large radius + 3 and + 8 pixels).",
)
@click.option("--extended", type=LENGTH, help="Also measure an extended-source aperture.")
@_apcorr_option("auto (measure on stars of the image), none, or a value in mag.")
@click.option(
    "--eef", "eef_value", type=float, help="EEF at the large radius (overrides the shipped table)."
)
@click.option("--zeropoint", type=float, help="Explicit zero point (adds a 'mag' column).")
@_apcorr_fwhm_option
@click.option("--saturation", type=float, help="Saturation level in data units.")
@click.option(
    "--pixels",
    "use_pixels",
    is_flag=True,
    help="Place apertures at the x, y columns (0-based pixels of this image), not at ra, dec.",
)
@_image_options
@overwrite_option
@json_option
def measure(
    image,
    positions,
    output,
    radius,
    large_radius,
    annulus,
    extended,
    apcorr,
    eef_value,
    zeropoint,
    fwhm,
    saturation,
    use_pixels,
    image_options,
    overwrite,
    as_json,
) -> None:
    """Aperture photometry of POSITIONS on IMAGE: fluxes, Vega/AB/ST magnitudes, flags.

    \b
    Example (M101 walkthrough):
      xrbid phot measure f555w_drc.fits --positions f555w_sources.ecsv \\
          -o f555w_phot.ecsv --radius 3pix --apcorr auto
    """
    from xrbid._io import check_output
    from xrbid.photometry import length_in_pixels, measure_magnitudes
    from xrbid.photometry.magnitudes import use_sky_positions
    from xrbid.tables import read_table, write_table

    check_output(output, overwrite)
    img = _load(image, **image_options, saturation=saturation)
    apcorr_value = _apcorr_value(apcorr)
    if apcorr_value == "auto":  # the FWHM only serves to find aperture-correction stars
        _check_default_fwhm([img])
    table = read_table(positions)
    use_sky = use_sky_positions(img, table, pixels=use_pixels)
    ann = None
    if annulus:
        ann = (
            length_in_pixels(annulus[0], img, "annulus"),
            length_in_pixels(annulus[1], img, "annulus"),
        )
    extra: dict[str, Any] = {}
    if extended is not None:
        extra["extended_radius"] = length_in_pixels(extended, img, "extended radius")
    with _bar(len(table), "measuring", len(table) > 10000 and not as_json) as update:
        result = measure_magnitudes(
            img,
            table,
            radius=radius,
            large_radius=large_radius,
            annulus=ann,
            apcorr=apcorr_value,
            eef_value=eef_value,
            zeropoint=zeropoint,
            fwhm=fwhm,
            use_sky=use_sky,
            progress=update,
            **extra,
        )
    write_table(result, output, overwrite=overwrite)
    apc = result.attrs["apcorr"]
    n_good = int(result["mag_ab"].notna().sum())
    emit(
        f"{len(result)} positions on {img.label}: {n_good} with magnitudes, aperture "
        f"correction {apc['value']:+.3f} mag ({apc['mode']}) -> {output}",
        {
            "n_positions": len(result),
            "n_magnitudes": n_good,
            "output": str(output),
            **{
                k: result.attrs[k]
                for k in (
                    "zeropoints",
                    "apcorr",
                    "radius_pix",
                    "large_radius_pix",
                    "annulus_pix",
                    "filter",
                )
            },
        },
        as_json,
    )


def _filter_image(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise click.BadParameter(f"{text!r}: write FILTER=IMAGE, e.g. F555W=f555w_drc.fits")
    filt, spec = text.split("=", 1)
    return filt.strip().upper(), spec.strip()


def _filter_images(texts: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (FILTER, IMAGE) pairs of the ``--image`` options; each filter may be given once."""
    pairs = [_filter_image(t) for t in texts]
    if len({f for f, _ in pairs}) != len(pairs):
        raise click.BadParameter("each filter may be given once", param_hint="--image")
    return pairs


@phot.command("counterparts")
@click.argument("candidates", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--image",
    "images",
    multiple=True,
    required=True,
    help="FILTER=IMAGE (repeat); IMAGE may end in [ext] or [chip=N].",
)
@output_option(type=_OUT)
@_radius_option
@click.option("--annulus", nargs=2, type=LENGTH, help="Background annulus R_IN R_OUT.")
@_apcorr_option("auto, none, or a value in mag (all filters).")
@click.option(
    "--system",
    type=click.Choice(["vega", "ab", "st"]),
    default="vega",
    show_default=True,
    help="Magnitude system of the <filter>_mag columns.",
)
@click.option(
    "--zeropoint",
    "zeropoints",
    multiple=True,
    help="FILTER=VALUE (repeat): explicit zero point of that filter's <filter>_mag, "
    "used instead of the header/table one.",
)
@click.option(
    "--exptime",
    "exptimes",
    multiple=True,
    help="FILTER=SECONDS (repeat): exposure time of that filter's image, overriding or "
    "supplying its EXPTIME (for the Poisson term of the errors).",
)
@click.option("--distance-modulus", type=float, help="Adds <filter>_abs_mag columns.")
@_apcorr_fwhm_option
@plot_option(
    "Also draw the colour-magnitude diagram of the two bluest filters; the format "
    "follows the suffix (.pdf .png .svg); `xrbid figures cmd` draws any pair.",
    dest="plot_path",
    type=_OUT,
)
@overwrite_option
@json_option
def counterparts(
    candidates,
    images,
    output,
    radius,
    annulus,
    apcorr,
    system,
    zeropoints,
    exptimes,
    distance_modulus,
    fwhm,
    plot_path,
    overwrite,
    as_json,
) -> None:
    """Magnitudes of the counterpart CANDIDATES (ra, dec) in each filter, with colours.

    \b
    Example (M101 walkthrough):
      xrbid phot counterparts m101_candidates.ecsv --image F555W=f555w_drc.fits \\
          --image F814W=f814w_drc.fits -o m101_cand_phot.ecsv --plot m101_cmd.png
    """
    from xrbid._io import check_output
    from xrbid.figures import check_figure_path, plot_cmd, save_figure
    from xrbid.photometry import length_in_pixels, photometer_counterparts
    from xrbid.tables import read_table, write_table

    check_output(output, overwrite)
    pairs = _filter_images(images)
    if plot_path:
        check_figure_path(plot_path, overwrite)
        if len(pairs) < 2:
            raise click.BadParameter("a CMD needs two filters (two --image)", param_hint="--plot")
    zps = filter_values(zeropoints, "--zeropoint", "F814W=25.52")
    unknown = sorted(set(zps) - {f.upper() for f, _ in pairs})
    if unknown:
        raise click.BadParameter(
            f"no --image for {', '.join(unknown)}; give FILTER=VALUE for the filters of --image",
            param_hint="--zeropoint",
        )
    exps = filter_values(exptimes, "--exptime", "F814W=1200")
    unknown = sorted(set(exps) - {f.upper() for f, _ in pairs})
    if unknown:
        raise click.BadParameter(
            f"no --image for {', '.join(unknown)}; give FILTER=SECONDS for the filters of --image",
            param_hint="--exptime",
        )
    imgs = {f: _load(spec, None, None, exptime=exps.get(f.upper())) for f, spec in pairs}
    apcorr_value = _apcorr_value(apcorr)
    if apcorr_value == "auto":
        _check_default_fwhm(list(imgs.values()))
    ann = None
    if annulus:
        first = next(iter(imgs.values()))
        ann = (length_in_pixels(annulus[0], first), length_in_pixels(annulus[1], first))
    cands = read_table(candidates, allow_empty=True)
    if len(cands) == 0:
        warnings.warn(
            f"{candidates} has no candidates (no optical source inside any X-ray circle); "
            "the output is an empty table with the photometry columns",
            UserWarning,
            stacklevel=1,
        )
    with _bar(len(imgs), "filters", len(cands) > 20000 and not as_json) as update:
        result = photometer_counterparts(
            cands,
            imgs,
            radius=radius,
            annulus=ann,
            apcorr=apcorr_value,
            system=system,
            zeropoints=zps or None,
            distance_modulus=distance_modulus,
            fwhm=fwhm,
            progress=update,
        )
    order = result.attrs["filters"]
    write_table(result, output, overwrite=overwrite)
    if plot_path:
        try:
            fig = plot_cmd(result, order[:2], absolute=distance_modulus is not None)
        except InputError as exc:  # nothing to draw: the table stands, no empty plot
            click.echo(f"Warning: no CMD written: {exc}", err=True)
            plot_path = None
        else:
            save_figure(fig, plot_path, overwrite=overwrite, dpi=200)
    counts = {f: int(result[f"{f.lower()}_mag"].notna().sum()) for f in order}
    systems = {f: result.attrs["photometry"][f]["system"] for f in order}
    emit(
        f"{len(result)} candidates in {', '.join(order)} "
        f"({', '.join(f'{f}: {n} with {systems[f]} mag' for f, n in counts.items())}) -> {output}"
        + (f"; CMD -> {plot_path}" if plot_path else ""),
        {
            "n_candidates": len(result),
            "filters": order,
            "with_magnitude": counts,
            "output": str(output),
            "plot": plot_path,
            "photometry": result.attrs["photometry"],
        },
        as_json,
    )


__all__ = ["phot"]
