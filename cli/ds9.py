"""``xrbid ds9``: work alongside a running SAOImage DS9 (over XPA or SAMP)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import IMAGE_FILE, XrbidGroup, emit
from ._ds9_common import Display, Session, check_image_arg, display_options, session_options
from ._options import ANGLE, EXISTING_FILE, json_option, overwrite_option

if TYPE_CHECKING:
    from xrbid.photometry.image_spec import ImageSpec


class _Zoom(click.ParamType):
    """A positive finite zoom factor, or ``fit``; checked before DS9 is touched."""

    name = "ZOOM|fit"

    def convert(self, value, param, ctx):
        if isinstance(value, float) or value == "fit":
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number or 'fit'", param, ctx)
        if not (math.isfinite(number) and number > 0):
            self.fail(f"{value!r}: a zoom is a positive number (or 'fit')", param, ctx)
        return number


ZOOM = _Zoom()


@click.group(cls=XrbidGroup)
def ds9() -> None:
    """Drive a running SAOImage DS9: show images and regions, pick calibrators, blink, stamps.

    DS9 is found over XPA, then SAMP (--transport to choose); --start launches one.

    \b
    On the M101 example:
      xrbid ds9 show m101_f555w.fits --regions m101_2sig.reg --start
      xrbid ds9 calibrators m101_unique.ecsv --image m101_f555w.fits -o calibrators.ecsv
      xrbid ds9 blink m101_f555w.fits --before m101.reg --after m101_aligned.reg
      xrbid ds9 stamps m101_best.ecsv --image m101_f555w.fits -o stamps/
    """


@ds9.command("show")
@click.argument("image", type=IMAGE_FILE)
@click.option(
    "--regions",
    "region_files",
    multiple=True,
    type=EXISTING_FILE,
    help="Region file to draw over the image (repeat for several).",
)
@click.option(
    "--new-frame",
    is_flag=True,
    help="Load into a new frame; default: the current frame (a DS9 just started has one).",
)
@click.option(
    "--zoom",
    type=ZOOM,
    default="fit",
    show_default=True,
    help="Zoom: screen pixels per image pixel (a positive number), or fit.",
)
@display_options
@session_options
@json_option
def show(
    image: Path | ImageSpec,
    region_files: tuple[Path, ...],
    new_frame: bool,
    zoom: float | str,
    display: Display,
    ds9_session: Session,
    as_json: bool,
) -> None:
    """Show IMAGE in DS9 with region files drawn over it.

    The image replaces the one in DS9's current frame unless --new-frame is given; the
    message says which frame shows it. IMAGE[ext] shows one extension: file.fits[2],
    file.fits[SCI] or file.fits[SCI,2].

    \b
    Example (the M101 2-sigma circles over your HST image of M101):
      xrbid ds9 show m101_f555w.fits --regions m101_2sig.reg --start
    """
    display.check()
    check_image_arg(image)
    with ds9_session.connect() as session:
        before = session.frames()
        number = session.open_image(image, frame="new" if new_frame else "current")
        session.stretch(display.scale, display.limits)
        for path in region_files:
            session.load_regions(path)
        session.zoom(zoom)
        drawn = len(session.regions()) if region_files else 0
        name = session.target.name
        used = session.transport
    which = "new frame" if number not in before else "current frame"
    shown = Path(str(image)).name  # with its [ext]
    emit(
        f"DS9 {name!r} ({used}): {shown} in frame {number} ({which}), {drawn} regions drawn",
        {
            "ds9": name,
            "transport": used,
            "frame": number,
            "new_frame": number not in before,
            "image": str(image),
            "regions": drawn,
        },
        as_json,
    )


@ds9.command("blink")
@click.argument("image", type=IMAGE_FILE, required=False)
@click.option("--before", type=EXISTING_FILE, help="Regions before the correction.")
@click.option("--after", type=EXISTING_FILE, help="Regions after the correction.")
@click.option(
    "--mode",
    type=click.Choice(["blink", "tile", "single"]),
    default="blink",
    show_default=True,
    help="Blink the two frames, tile them side by side, or show one (flip with Tab).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True, max=3600),
    default=0.5,
    show_default=True,
    help="Seconds each frame is shown while blinking.",
)
@click.option("--stop", is_flag=True, help="Stop blinking (or tiling): show one frame.")
@display_options
@session_options
@json_option
def blink(
    image: Path | ImageSpec | None,
    before: Path | None,
    after: Path | None,
    mode: str,
    interval: float,
    stop: bool,
    display: Display,
    ds9_session: Session,
    as_json: bool,
) -> None:
    """Blink IMAGE with the positions before and after an astrometric correction.

    Two frames show the same image, one with each region file, matched and locked on WCS
    (crosshair included): check that the correction brought the X-ray positions onto their
    optical counterparts. DS9 blinks until told otherwise: `xrbid ds9 blink --stop`.
    IMAGE[ext] uses one extension (file.fits[SCI,2]).

    \b
    Example (M101):
      xrbid ds9 blink m101_f555w.fits --before m101.reg --after m101_aligned.reg
      xrbid ds9 blink --stop
    """
    from xrbid.ds9 import blink_before_after

    if stop:
        if image is not None or before is not None or after is not None:
            raise click.UsageError("--stop takes no IMAGE, --before or --after")
        with ds9_session.connect() as session:
            session.blink(False)
            session.tile(False)
            name, frame = session.target.name, session.current_frame()
        emit(
            f"DS9 {name!r}: blinking stopped, frame {frame} shown",
            {"ds9": name, "frame": frame, "blinking": False},
            as_json,
        )
        return
    if image is None or before is None or after is None:
        raise click.UsageError("give IMAGE, --before and --after (or --stop)")
    display.check()
    check_image_arg(image)
    with ds9_session.connect() as session:
        first, second = blink_before_after(
            session, image, before, after, interval=interval, mode=mode, scale=display.scale,
            limits=display.limits,
        )  # fmt: skip
        name = session.target.name
    doing = {
        "blink": f"blinking every {interval:g} s (stop: xrbid ds9 blink --stop)",
        "tile": "side by side",
        "single": "one at a time (Tab flips)",
    }[mode]
    emit(
        f"DS9 {name!r}: frame {first} ({before.name}) and {second} ({after.name}), {doing}",
        {
            "ds9": name,
            "before_frame": first,
            "after_frame": second,
            "mode": mode,
            "interval": interval,
        },
        as_json,
    )


@ds9.command("stamps")
@click.argument("table_path", metavar="TABLE", type=EXISTING_FILE)
@click.option(
    "--image",
    type=IMAGE_FILE,
    required=True,
    help="Image to cut the stamps from (IMAGE[ext]: one extension).",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the PNGs (created if missing).",
)
@click.option(
    "--size",
    type=ANGLE,
    default="10arcsec",
    show_default=True,
    help="Stamp width on the sky: an angle (8arcsec, 0.2arcmin; a number is arcsec).",
)
@click.option(
    "--pixels",
    type=click.IntRange(50, 2000),
    default=300,
    show_default=True,
    help="Stamp width and height, screen pixels.",
)
@click.option(
    "--candidates",
    "candidates_path",
    type=EXISTING_FILE,
    default=None,
    help="Counterparts table (xrbid counterparts -o): candidates drawn numbered by rank.",
)
@display_options
@session_options
@overwrite_option
@json_option
def stamps(
    table_path: Path,
    image: Path | ImageSpec,
    out_dir: Path,
    size: float,
    pixels: int,
    candidates_path: Path | None,
    display: Display,
    ds9_session: Session,
    overwrite: bool,
    as_json: bool,
) -> None:
    """A PNG postage stamp per source of TABLE with its 1-sigma and 2-sigma circles.

    DS9 renders each stamp: the image around the source, its 1-sigma circle (green, solid) and
    2-sigma circle (magenta, dashed, labelled), other sources' circles thin and dashed in
    blue, the candidates of --candidates numbered as in the counterparts table, a scale bar
    and a N/E compass. TABLE needs pu_1sigma and pu_2sigma. Sources without a stamp are listed
    with the reason.

    \b
    Example (M101):
      xrbid ds9 stamps m101_best.ecsv --image m101_f555w.fits -o stamps/ --size 8arcsec \\
          --candidates m101_counterparts.ecsv
    """
    from xrbid.ds9 import postage_stamps
    from xrbid.tables import read_table

    display.check()
    check_image_arg(image)
    table = read_table(table_path)
    candidates = read_table(candidates_path) if candidates_path is not None else None
    with ds9_session.connect() as session:
        made = postage_stamps(
            session, table, image, out_dir, size=size, pixels=pixels, overwrite=overwrite,
            scale=display.scale, limits=display.limits, candidates=candidates,
        )  # fmt: skip
    skipped = made.skipped
    lines = [f"{len(made)} stamps -> {out_dir} (scale bar {made.bar_arcsec:g} arcsec)"]
    if len(skipped):
        lines[0] += f"; {len(skipped)} skipped:"
        lines += [f"  {sid}: {why}" for sid, why in zip(skipped["source_id"], skipped["reason"])]
    emit(
        "\n".join(lines),
        {
            "stamps": [str(p) for p in made],
            "output": str(out_dir),
            "skipped": [
                {"source_id": sid, "reason": why}
                for sid, why in zip(skipped["source_id"], skipped["reason"])
            ],
            "scale_bar_arcsec": made.bar_arcsec,
        },
        as_json,
    )


from .ds9_calibrators import calibrators as _calibrators  # noqa: E402

ds9.add_command(_calibrators)
