"""What the ``xrbid phot`` commands share: image lengths, loading IMAGE arguments, options."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import click

from xrbid.errors import InputError

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
OUT = click.Path(dir_okay=False)  # photometry outputs are passed on as given (str)

radius_option = click.option(
    "--radius",
    type=LENGTH,
    default="3pix",
    show_default=True,
    help=f"Measurement aperture radius: {LENGTH_HELP}.",
)
apcorr_fwhm_option = click.option(
    "--fwhm",
    type=LENGTH,
    default=DEFAULT_FWHM,
    show_default=True,
    help="FWHM used to find aperture-correction stars.",
)


def apcorr_option(help: str):
    """``--apcorr auto|none|MAG`` (read with :func:`parse_apcorr`)."""
    return click.option("--apcorr", default="auto", show_default=True, help=help)


def check_default_fwhm(images: list) -> None:
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


def load_image_arg(spec: str, ext: str | None, chip: int | None, **kwargs: Any):
    """The image of an IMAGE argument (``IMAGE[ext]``, ``[chip=N]``; ``--ext``/``--chip``
    override), with the load keywords that are not None."""
    from xrbid.photometry import load_image
    from xrbid.photometry.image_spec import extension_key
    from xrbid.photometry.images import parse_image_spec

    image = parse_image_spec(spec)
    path, options = image.path, image.options
    if ext is not None:
        options["ext"] = extension_key(ext)
    if chip is not None:
        options["chip"] = chip
    return load_image(path, **options, **{k: v for k, v in kwargs.items() if v is not None})


@contextmanager
def progress(length: int, label: str, show: bool):
    """A progress bar on stderr (so ``--json`` output stays clean); no-op when hidden."""
    if not show:
        yield lambda n: None
        return
    with click.progressbar(length=length, label=label, file=click.get_text_stream("stderr")) as bar:
        yield bar.update


def parse_apcorr(text: str) -> Any:
    text = text.strip().lower()
    if text == "auto":
        return "auto"
    if text == "none":
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: use auto, none or a number of magnitudes") from exc


def filter_image(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise click.BadParameter(f"{text!r}: write FILTER=IMAGE, e.g. F555W=f555w_drc.fits")
    filt, spec = text.split("=", 1)
    return filt.strip().upper(), spec.strip()


def filter_images(texts: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (FILTER, IMAGE) pairs of the ``--image`` options; each filter may be given once."""
    pairs = [filter_image(t) for t in texts]
    if len({f for f, _ in pairs}) != len(pairs):
        raise click.BadParameter("each filter may be given once", param_hint="--image")
    return pairs
