"""``xrbid regions``: write a table as a DS9 region file; read a region file into a table."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import XrbidGroup, check_outputs, emit_written
from ._options import ANGLE, json_option, output_option, overwrite_option, table_argument


def _pixel_origin_option(help: str):
    """``--pixel-origin 0|1``: whether pixel x, y count from 0 (numpy) or 1 (DS9, FITS)."""
    return click.option(
        "--pixel-origin", type=click.Choice(["0", "1"]), default="0", show_default=True, help=help
    )


@click.group(cls=XrbidGroup)
def regions() -> None:
    """DS9 region files: write circles/points from a table, read any DS9 file back.

    \b
    On the M101 example:
      xrbid regions write m101_unique.ecsv -o m101.reg --radius 10arcsec \\
          --color hotpink --width 2 --label-column source_id
      xrbid regions write m101_best.ecsv -o m101_2sig.reg --radius-column pu_2sigma \\
          --label-column source_id
      xrbid regions read m101.reg -o m101_regions.ecsv
    """


def _radius(value: str | None, system: str) -> float | None:
    """``--radius``: an angle (arcsec by default) for sky systems, pixels for image."""
    if value is None:
        return None
    if system == "image":
        text = value.strip().removesuffix("pix").removesuffix("pixels").strip()
        try:
            return float(text)
        except ValueError:
            raise click.BadParameter(
                f"{value!r}: image regions take a radius in pixels, e.g. 5 or 5pix",
                param_hint="--radius",
            ) from None
    return ANGLE.convert(value, None, None)


@regions.command("write")
@table_argument()
@output_option("Region file to write (.reg).")
@click.option(
    "--radius",
    default=None,
    help='One radius for all circles: an angle (10arcsec, 0.5arcmin, 1.2"; a bare number is '
    "arcsec) or pixels with --system image.",
)
@click.option(
    "--radius-column",
    default=None,
    help="Column with a radius per row, in arcsec (pixels for --system image), e.g. pu_2sigma.",
)
@click.option(
    "--unit",
    type=click.Choice(["arcsec", "arcmin", "deg"]),
    default=None,
    help="Unit the radii are written in (sky systems; default arcsec).",
)
@click.option(
    "--system",
    type=click.Choice(["fk5", "icrs", "image"]),
    default="fk5",
    show_default=True,
    help="Coordinate system: fk5/icrs use ra, dec (deg); image uses x, y (pixels).",
)
@_pixel_origin_option("With --system image: x, y count from 0 (numpy, photutils) or 1 (DS9, FITS).")
@click.option("--color", default=None, help="DS9 colour of all regions (hotpink, #ff69b4).")
@click.option("--color-column", default=None, help="Column with a colour per row.")
@click.option("--width", type=click.IntRange(min=1), default=None, help="Line width (pixels).")
@click.option("--dash", is_flag=True, help="Dashed outlines.")
@click.option("--font-size", type=click.IntRange(min=1), default=None, help="Label font size.")
@click.option("--label-column", default=None, help="Column written as the label, e.g. source_id.")
@click.option(
    "--on-bad-label",
    type=click.Choice(["error", "replace"]),
    default="error",
    show_default=True,
    help="Labels with characters that would break the file ({ } [ ] # ; quotes \\ $ newlines): "
    "stop, or replace them ({ -> (, # -> _, ...).",
)
@click.option(
    "--marker",
    type=click.Choice(["circle", "box", "diamond", "cross", "x", "arrow", "boxcircle"]),
    default=None,
    help="Write point markers of this shape instead of circles (no radius).",
)
@click.option("--marker-size", type=click.IntRange(min=1), default=None, help="Marker size.")
@click.option("--tag", default=None, help="DS9 tag added to every region (groups them in DS9).")
@overwrite_option
@json_option
def write(
    table_path: Path,
    output: Path,
    radius: str | None,
    radius_column: str | None,
    unit: str | None,
    system: str,
    pixel_origin: str,
    color: str | None,
    color_column: str | None,
    width: int | None,
    dash: bool,
    font_size: int | None,
    label_column: str | None,
    on_bad_label: str,
    marker: str | None,
    marker_size: int | None,
    tag: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Write a table as a DS9 region file: one circle (or point) per row.

    \b
    Examples (M101 walkthrough):
      xrbid regions write m101_unique.ecsv -o m101_cscsources.reg --radius 10arcsec \\
          --color hotpink --width 2 --label-column source_id
      xrbid regions write calibrators.ecsv -o m101_calibrators.reg --radius 25arcsec --width 2
      xrbid regions write m101_best.ecsv -o m101_bestrads_2sig.reg --radius-column pu_2sigma \\
          --label-column source_id
    """
    from xrbid.regions import RegionStyle, write_regions
    from xrbid.tables import read_table

    check_outputs(overwrite, output)
    df = read_table(table_path)
    write_regions(
        df,
        output,
        overwrite=overwrite,
        radius=_radius(radius, system),
        radius_column=radius_column,
        unit=unit,
        system=system,
        pixel_origin=int(pixel_origin),
        color_column=color_column,
        label_column=label_column,
        on_bad_label=on_bad_label,
        style=RegionStyle(
            color=color,
            width=width,
            dash=dash,
            font_size=font_size,
            marker=marker,
            marker_size=marker_size,
            tag=tag,
        ),
    )
    kind = f"{marker} points" if marker else "circles"
    size = (
        f"radius {radius}"
        if radius is not None
        else f"radius from {radius_column}"
        if radius_column
        else "no radius"
    )
    data = {
        "regions": len(df),
        "shape": "point" if marker else "circle",
        "system": system,
        "radius": _radius(radius, system),
        "radius_column": radius_column,
        "label_column": label_column,
    }
    emit_written(table_path, f"{len(df)} {kind} ({system}, {size})", output, data, as_json)


@regions.command("read")
@table_argument("region_path", "FILE.reg")
@output_option("Table to write; the format follows the extension (.ecsv .csv .fits .vot .parquet).")
@_pixel_origin_option("Image regions: write x, y counting from 0 (numpy, photutils) or 1 (DS9).")
@overwrite_option
@json_option
def read(
    region_path: Path, output: Path, pixel_origin: str, overwrite: bool, as_json: bool
) -> None:
    """Read a DS9 region file into a table: shape, ra/dec (ICRS deg) or x/y, sizes, labels.

    Sky sizes are arcsec, image sizes pixels; polygon/line vertices and extra shape parameters
    are written as space-separated numbers.

    \b
    Example (M101 walkthrough: the sources picked by eye in DS9, saved as fk5):
      xrbid regions read m101_picked.reg -o m101_picked.ecsv
    """
    from xrbid.regions import read_regions
    from xrbid.tables import write_table

    check_outputs(overwrite, output)
    table = read_regions(region_path, pixel_origin=int(pixel_origin))
    for col in ("vertices", "params"):  # tuples -> text that every table format can hold
        table[col] = [
            " ".join(repr(float(v)) for v in values) if values is not None else ""
            for values in table[col]
        ]
    write_table(table, output, overwrite=overwrite)
    counts = table["shape"].value_counts()
    data = {
        "regions": len(table),
        "shapes": {str(k): int(v) for k, v in counts.items()},
        "frames": sorted(str(f) for f in table["frame"].dropna().unique()),
    }
    shapes = ", ".join(f"{v} {k}" for k, v in counts.items()) or "no regions"
    emit_written(region_path, f"{len(table)} regions ({shapes})", output, data, as_json)
