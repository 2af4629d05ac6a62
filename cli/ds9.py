"""``xrbid ds9``: work alongside a running SAOImage DS9 (over XPA or SAMP)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import IMAGE_FILE, XrbidGroup, emit
from ._options import ANGLE, id_options, json_option, option_group, overwrite_option, source_ids

if TYPE_CHECKING:
    from xrbid.photometry.image_spec import ImageSpec

_PATH = click.Path(dir_okay=False, path_type=Path)
_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


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


@dataclass(frozen=True)
class _Session:
    """Which DS9 to reach and how (``--target``, ``--transport``, ``--start``, ``--timeout``)."""

    target: str | None
    transport: str
    start: bool
    timeout: float

    def connect(self):
        """The DS9 session (a context manager that closes it)."""
        from xrbid.ds9 import DS9

        return DS9(self.target, transport=self.transport, start=self.start, timeout=self.timeout)


session_options = option_group(
    [
        click.option(
            "--target",
            default=None,
            help="DS9 title (ds9 -title NAME) when several DS9s run; with --start, the title.",
        ),
        click.option(
            "--transport",
            type=click.Choice(["auto", "xpa", "samp"]),
            default="auto",
            show_default=True,
            help="How to reach DS9: XPA (the XPA library of pyds9), SAMP (pyvo.samp), or XPA "
            "then SAMP.",
        ),
        click.option("--start", is_flag=True, help="Start ds9 if none answers."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=10.0,
            show_default=True,
            help="Seconds to wait for DS9: for finding it, and for each command.",
        ),
    ],
    "ds9_session",
    _Session,
)
"""``--target``, ``--transport``, ``--start``, ``--timeout``: the command gets a `_Session`."""


@dataclass(frozen=True)
class _Display:
    """How pixel values map to grey levels (``--scale``, ``--limits``)."""

    scale: str
    limits: tuple[float, float] | None

    def check(self) -> None:
        """Refuse a bad stretch before DS9 is touched."""
        from xrbid.ds9._checks import check_stretch

        check_stretch(self.scale, self.limits)


def _check_image(image: Path | ImageSpec | None) -> None:
    """Refuse a missing extension (or one DS9 cannot show) before DS9 is touched."""
    if image is not None:
        from xrbid.ds9._images import check_image

        check_image(image)


def display_options(f: Callable) -> Callable:
    """``--scale`` and ``--limits``: the command gets a `_Display`."""
    from xrbid.ds9 import SCALES

    options = [
        click.option(
            "--scale",
            type=click.Choice(SCALES),
            default="log",
            show_default=True,
            help="Display stretch: a function over the 99.5% clip of the pixel values, or zscale.",
        ),
        click.option(
            "--limits",
            type=(float, float),
            default=None,
            metavar="LOW HIGH",
            help="Pixel values shown black and white, in the image's units (e.g. electrons/s); "
            "default: the 99.5% clip (zscale: its own).",
        ),
    ]
    return option_group(options, "display", _Display)(f)


@ds9.command("show")
@click.argument("image", type=IMAGE_FILE)
@click.option(
    "--regions",
    "region_files",
    multiple=True,
    type=_EXISTING,
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
    display: _Display,
    ds9_session: _Session,
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
    _check_image(image)
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


_MARK_HELP = {
    "color": "select each calibrator to keep and give it the colour {color} (Region > Color)",
    "selected": "select the calibrators to keep (click, shift-click for more)",
    "delete": "delete the candidates you reject (select, then Region > Delete)",
}


@ds9.command("calibrators")
@click.argument("table_path", metavar="TABLE", type=_EXISTING)
@click.option(
    "--image",
    type=IMAGE_FILE,
    default=None,
    help="Image to show the candidates on (IMAGE[ext]: one extension).",
)
@click.option(
    "-o",
    "--output",
    type=_PATH,
    default=None,
    help="Table of the kept calibrators (source_id, ra, dec, ds9_ra, ds9_dec).",
)
@id_options
@click.option(
    "--radius",
    type=ANGLE,
    default="2arcsec",
    show_default=True,
    help="Radius of the candidate circles: an angle (2arcsec, 0.1arcmin; a number is arcsec).",
)
@click.option(
    "--zoom",
    type=click.FloatRange(min=0, min_open=True, max=1e4),
    default=4.0,
    show_default=True,
    help="Zoom on each candidate: screen pixels per image pixel.",
)
@click.option(
    "--mark",
    type=click.Choice(["color", "selected", "delete"]),
    default="color",
    show_default=True,
    help="How you mark the ones to keep: recolour them, select them, or delete the others.",
)
@click.option(
    "--keep-color", default="red", show_default=True, help="Colour meaning keep (--mark color)."
)
@display_options
@click.option("--no-step", is_flag=True, help="Do not step through the candidates one by one.")
@click.option(
    "--draw-only", is_flag=True, help="Draw (and step), then exit; collect later with --collect."
)
@click.option(
    "--collect",
    is_flag=True,
    help="Do not draw: read back the marks on candidates drawn by an earlier run.",
)
@session_options
@overwrite_option
@json_option
def calibrators(
    table_path: Path,
    image: Path | ImageSpec | None,
    output: Path | None,
    ids: tuple[str, ...],
    ids_file: Path | None,
    radius: float,
    zoom: float,
    mark: str,
    keep_color: str,
    display: _Display,
    no_step: bool,
    draw_only: bool,
    collect: bool,
    ds9_session: _Session,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Pick astrometric calibrators by eye in DS9 and write the ones you kept.

    Draws each candidate of TABLE (one per source) on IMAGE, steps through them (pan, zoom,
    crosshair; Enter for the next), then reads back from DS9 the ones you marked and writes
    them to --output. Nothing is copied by hand.

    \b
    Example (M101):
      xrbid ds9 calibrators m101_unique.ecsv --image m101_f555w.fits \\
          --id "2CXO J140314.3+541806" --id "2CXO J140229.9+542118" -o calibrators.ecsv
    \b
    Draw now, mark at leisure, collect later:
      xrbid ds9 calibrators m101_unique.ecsv --image m101_f555w.fits --draw-only
      xrbid ds9 calibrators m101_unique.ecsv --collect -o calibrators.ecsv
    """
    from xrbid.ds9 import draw_calibrators, picked_calibrators, step_through
    from xrbid.tables import check_table_output, read_table, select_sources, unique_sources

    if draw_only and collect:
        raise click.UsageError("--draw-only and --collect exclude each other")
    if not draw_only and output is None:
        raise click.UsageError("give -o/--output for the kept calibrators (or use --draw-only)")
    if not collect and image is None:
        raise click.UsageError("give --image to draw the candidates on (or use --collect)")
    if output is not None:
        check_table_output(output, overwrite)
    display.check()
    _check_image(image)
    wanted = source_ids(ids, ids_file, required=False)
    table = unique_sources(read_table(table_path))
    if wanted:
        table = select_sources(table, wanted)
    with ds9_session.connect() as session:
        if not collect:
            session.open_image(image)
            session.stretch(display.scale, display.limits)
            drawn = draw_calibrators(session, table, radius=radius)
            off_image = len(table) - len(drawn)
            if off_image:
                click.echo(f"{off_image} candidates fall off the image and are not drawn", err=True)
            table = drawn
            if not no_step:
                for i, row in step_through(session, table, zoom=zoom):
                    answer = click.prompt(
                        f"[{i + 1}/{len(table)}] {row['source_id']}: Enter for the next, "
                        "q to stop stepping",
                        default="",
                        show_default=False,
                        err=True,
                    )
                    if answer.strip().lower() == "q":
                        break
            else:
                session.zoom("fit")
            if draw_only:
                emit(
                    f"{len(table)} candidates drawn in DS9 {session.target.name!r}; mark them, "
                    "then run again with --collect",
                    {"candidates": len(table), "ds9": session.target.name},
                    as_json,
                )
                return
            how = _MARK_HELP[mark].format(color=keep_color)
            click.prompt(
                f"In DS9, {how}; then press Enter here",
                default="",
                show_default=False,
                err=True,
            )
        kept = picked_calibrators(session, table, mark=mark, keep_color=keep_color)
    from xrbid.errors import InputError
    from xrbid.tables import write_table

    if len(kept) == 0:
        how = _MARK_HELP[mark].format(color=keep_color)
        raise InputError(
            f"none of the {len(table)} candidates is marked as kept in DS9 (--mark {mark}: "
            f"{how}); nothing written to {output}; mark them and run again with --collect"
        )

    write_table(kept, output, overwrite=overwrite)
    emit(
        f"{len(kept)} of {len(table)} calibrators kept -> {output}",
        {"kept": kept["source_id"].tolist(), "candidates": len(table), "output": str(output)},
        as_json,
    )


@ds9.command("blink")
@click.argument("image", type=IMAGE_FILE, required=False)
@click.option("--before", type=_EXISTING, help="Regions before the correction.")
@click.option("--after", type=_EXISTING, help="Regions after the correction.")
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
    display: _Display,
    ds9_session: _Session,
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
    _check_image(image)
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
@click.argument("table_path", metavar="TABLE", type=_EXISTING)
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
    type=_EXISTING,
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
    display: _Display,
    ds9_session: _Session,
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
    _check_image(image)
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
