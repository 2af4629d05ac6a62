"""Colour–magnitude diagram of the counterpart candidates, drawn for a paper."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xrbid import errors
from xrbid.errors import ColumnError, InputError

from ._cmd_axes import FIGSIZE, MINUS, draw_points, finish_axes
from ._save import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["cmd_data", "model_tracks", "parse_color", "plot_cmd"]

FLAGS = ("edge", "crowded", "outside", "saturated")
"""Photometry flags (``<filter>_flag_<name>``) that mark a point as unreliable."""

_SYSTEM_NAMES = {"vega": "Vega", "ab": "AB", "st": "ST"}


def parse_color(color: str | Sequence[str]) -> tuple[str, str]:
    """``"F555W-F814W"`` (hyphen or minus sign) or ``("F555W", "F814W")`` -> ``("F555W", "F814W")``.

    Raises
    ------
    InputError
        If ``color`` does not name two filters.
    """
    if isinstance(color, str):
        parts = [p.strip() for p in re.split(rf"[-{MINUS}]", color)]
    else:
        parts = [str(p).strip() for p in color]
    if len(parts) != 2 or not all(parts):
        raise InputError(
            f"colour {color!r} does not name two filters; write BLUE-RED, e.g. F555W-F814W"
        )
    return parts[0].upper(), parts[1].upper()


def _finite(table: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(table[column], errors="coerce").to_numpy(float)


def cmd_data(
    table: pd.DataFrame,
    color: str | Sequence[str],
    mag: str | None = None,
    *,
    absolute: bool = False,
    label_column: str = "source_id",
) -> pd.DataFrame:
    """Colour, magnitude, their errors and a flag per candidate, in the order of ``table``.

    Parameters
    ----------
    table : pandas.DataFrame
        Candidate photometry (`xrbid.photometry.photometer_counterparts`): per filter ``f``
        (lower case) ``<f>_mag``, optionally ``<f>_mag_err``, ``<f>_abs_mag`` and the flags
        ``<f>_flag_edge``, ``_crowded``, ``_outside``, ``_saturated``.
    color : str or (str, str)
        The colour ``BLUE - RED``: ``"F555W-F814W"`` or ``("F555W", "F814W")``.
    mag : str, optional
        Filter on the magnitude axis (default: the red filter).
    absolute : bool
        Use ``<mag>_abs_mag`` (absolute magnitudes) on the magnitude axis.
    label_column : str
        Column naming the X-ray source of each candidate.

    Returns
    -------
    pandas.DataFrame
        Columns ``colour``, ``colour_err`` (errors of the two filters in quadrature),
        ``mag``, ``mag_err`` (NaN where the table has no errors), ``flagged`` (any flag of
        the filters used is set), ``drawable`` (colour and magnitude finite) and ``label``
        (``<source_id>:<rank>`` when the table has ``rank``, else the source ID).

    Raises
    ------
    ColumnError
        If a magnitude column is missing.
    """
    blue, red = parse_color(color)
    mag = (mag or red).upper()
    b, r, m = blue.lower(), red.lower(), mag.lower()
    ycol = f"{m}_abs_mag" if absolute else f"{m}_mag"
    needed = list(dict.fromkeys([f"{b}_mag", f"{r}_mag", ycol]))
    missing = [c for c in needed if c not in table.columns]
    if missing:
        hint = " (photometry with a distance modulus)" if absolute and ycol in missing else ""
        raise ColumnError(
            f"cannot draw the CMD: columns {', '.join(missing)} are missing; measure "
            f"{', '.join(dict.fromkeys([blue, red, mag]))}{hint} with `xrbid phot counterparts`"
        )
    n = len(table)
    nan = np.full(n, np.nan)

    def err(f: str) -> np.ndarray:
        col = f"{f}_mag_err"
        return _finite(table, col) if col in table.columns else nan

    colour = _finite(table, f"{b}_mag") - _finite(table, f"{r}_mag")
    y = _finite(table, ycol)
    flagged = np.zeros(n, bool)
    for f in {b, r, m}:
        for flag in FLAGS:
            col = f"{f}_flag_{flag}"
            if col in table.columns:
                flagged |= table[col].fillna(False).to_numpy(bool)
    if label_column in table.columns:
        label = table[label_column].astype(str).to_numpy()
        if "rank" in table.columns:
            label = label + ":" + table["rank"].astype(str).to_numpy()
    else:
        label = np.arange(1, n + 1).astype(str)
    return pd.DataFrame(
        {
            "colour": colour,
            "colour_err": np.hypot(err(b), err(r)),
            "mag": y,
            "mag_err": err(m),
            "flagged": flagged,
            "drawable": np.isfinite(colour) & np.isfinite(y),
            "label": label,
        },
        index=table.index,
    )


def _nothing_to_draw(table: pd.DataFrame, filters: Iterable[str], ycol: str) -> InputError:
    counts = []
    for f in dict.fromkeys(filters):
        col = f"{f.lower()}_mag"
        counts.append(f"{f}: {int(np.isfinite(_finite(table, col)).sum())}")
    if ycol.endswith("_abs_mag"):
        counts.append(f"{ycol}: {int(np.isfinite(_finite(table, ycol)).sum())}")
    return InputError(
        f"nothing to draw: none of the {len(table)} candidates has both the colour and the "
        f"magnitude (finite magnitudes per filter: {', '.join(counts)}); choose filters that "
        "were measured, or check the photometry's flags"
    )


def _system_label(table: pd.DataFrame, filters: Iterable[str], system: str | None) -> str:
    if system is None:
        info = table.attrs.get("photometry", {}) if isinstance(table.attrs, dict) else {}
        systems = {str(info.get(f, {}).get("system", "")).lower() for f in filters if f in info} - {
            ""
        }
        if not systems:  # a table read from a file: the <filter>_mag_system columns
            for f in filters:
                column = f"{str(f).lower()}_mag_system"
                if column in table.columns:
                    systems |= {str(v).lower() for v in pd.unique(table[column].dropna())}
        system = systems.pop() if len(systems) == 1 else None
    if system is None or system.lower() not in _SYSTEM_NAMES:
        return "mag"
    return _SYSTEM_NAMES[system.lower()]


def model_tracks(models: Any, *, distance_modulus: float = 0.0) -> dict[str, pd.DataFrame]:
    """One CMD track per model of a stellar-model table, named by its age.

    Parameters
    ----------
    models : xrbid.classify.StellarModels or pandas.DataFrame
        `xrbid.classify.read_models` output (or its ``table``): ``model``, ``log_age`` and one
        absolute-magnitude column per band (``ACS_WFC_F555W``, ...).
    distance_modulus : float
        Added to every band, to draw the models over apparent magnitudes.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"log t = 7.00"`` (or ``"model N"``) -> that model's rows, for `plot_cmd`'s
        ``tracks``.
    """
    table = getattr(models, "table", models)
    bands = list(getattr(models, "bands", []))
    if "model" not in table.columns:
        raise ColumnError("the model table has no 'model' column; read it with read_models")
    shifted = table.copy()
    for band in bands:
        shifted[band] = pd.to_numeric(shifted[band], errors="coerce") + float(distance_modulus)
    out: dict[str, pd.DataFrame] = {}
    for key, rows in shifted.groupby("model", sort=False):
        age = rows["log_age"].iloc[0] if "log_age" in rows else np.nan
        name = f"log t = {age:.2f}" if np.isfinite(age) else f"model {key}"
        out[name if name not in out else f"{name} ({key})"] = rows[bands or rows.columns]
    return out


def _track_xy(
    track: pd.DataFrame, blue: str, red: str, mag: str, name: str = "a model track"
) -> tuple[np.ndarray, np.ndarray]:
    cols = {str(c).lower(): c for c in track.columns}

    def band(filt: str) -> np.ndarray:
        filt = filt.lower()
        for key, col in cols.items():
            if key == filt or key.endswith(f"_{filt}") or key == f"{filt}_mag":
                return _finite(track, col)
        raise ColumnError(
            f"{name} has no {filt.upper()} band (its columns: "
            f"{', '.join(map(str, track.columns))}); use models computed in the images' "
            "photometric system, or a track table with columns 'colour' and 'mag'"
        )

    if ("colour" in cols or "color" in cols) and "mag" in cols:
        x = _finite(track, cols.get("colour", cols.get("color")))
        return x, _finite(track, cols["mag"])
    return band(blue) - band(red), band(mag)


def plot_cmd(
    table: pd.DataFrame,
    color: str | Sequence[str],
    mag: str | None = None,
    *,
    absolute: bool = False,
    ax: Axes | None = None,
    labels: Iterable[str] | None = None,
    label_column: str = "source_id",
    system: str | None = None,
    extinction: Mapping[str, float] | None = None,
    extinction_label: str | None = None,
    tracks: Mapping[str, pd.DataFrame] | Sequence[pd.DataFrame] | None = None,
    title: str | None = None,
) -> Figure:
    """Draw a colour–magnitude diagram of counterpart candidates.

    Candidates with any photometry flag (edge, crowded, outside, saturated) in the filters
    used are drawn as open grey squares, the others as filled black circles, both with
    their error bars. Only the candidates named in ``labels`` are labelled.

    Parameters
    ----------
    table : pandas.DataFrame
        Candidate photometry, e.g. from `xrbid.photometry.photometer_counterparts`.
    color : str or (str, str)
        Any pair of measured filters: ``"F555W-F814W"`` or ``("F555W", "F814W")``.
    mag : str, optional
        Filter on the magnitude axis (default: the red filter of ``color``).
    absolute : bool
        Plot absolute magnitudes (``<filter>_abs_mag``).
    ax : matplotlib.axes.Axes, optional
        Draw on these axes; by default a new figure is made.
    labels : iterable of str, optional
        Candidates to label: a source ID labels all its candidates, ``"<source_id>:<rank>"``
        one of them. Nothing is labelled by default.
    label_column : str
        Column with the X-ray source ID of each candidate.
    system : str, optional
        Magnitude system for the axis labels (``"vega"``, ``"ab"``, ``"st"``); by default
        the one recorded by the photometry in ``table.attrs``, else plain "mag".
    extinction : mapping of str to float, optional
        Extinction A_λ (mag) per filter, e.g. ``{"F555W": 0.30, "F814W": 0.17}``; draws the
        reddening vector (A_blue − A_red, A_mag) from the bright blue corner.
    extinction_label : str, optional
        Text beside the vector (default: the A_λ of the magnitude filter).
    tracks : mapping of str to DataFrame, or sequence of DataFrame, optional
        Model tracks or isochrones (name -> table) drawn as lines: columns ``colour`` and
        ``mag``, or one magnitude column per filter (``F555W`` or ``..._F555W``), on the
        same magnitude scale as the points.
    title : str, optional
        Axes title (none by default).

    Returns
    -------
    matplotlib.figure.Figure
        The figure of the axes drawn on.

    Raises
    ------
    ColumnError
        If the table lacks a magnitude column, or a track its colour/magnitude columns.
    InputError
        If no candidate has both the colour and the magnitude (nothing would be drawn).

    Examples
    --------
    >>> fig = plot_cmd(phot, "F555W-F814W", "F555W", labels=["CXO J140312.5+542056"])
    >>> save_figure(fig, "cmd.pdf")  # doctest: +SKIP
    """
    blue, red = parse_color(color)
    mag = (mag or red).upper()
    points = cmd_data(table, (blue, red), mag, absolute=absolute, label_column=label_column)
    if not points["drawable"].any():
        ycol = f"{mag.lower()}_abs_mag" if absolute else f"{mag.lower()}_mag"
        raise _nothing_to_draw(table, (blue, red, mag), ycol)
    track_items = _track_items(tracks)
    track_xy = [
        (name, _track_xy(t, blue, red, mag, f"model track '{name}'")) for name, t in track_items
    ]

    fig, ax = new_axes(ax, figsize=FIGSIZE)
    shown = points[points["drawable"]]
    draw_points(ax, *_point_arrays(shown))
    for i, (name, (x, y)) in enumerate(track_xy):
        ax.plot(x, y, "-", lw=1.0, color=f"C{i}", label=name, zorder=2)
    _label_points(ax, shown, labels, label_column, table)
    if extinction:
        _reddening_vector(ax, shown, extinction, blue, red, mag, extinction_label)
    finish_axes(
        ax,
        blue,
        red,
        mag,
        _system_label(table, (blue, red, mag), system),
        absolute=absolute,
        legend=bool(shown["flagged"].any() or track_xy),
        title=title,
    )
    return fig


def _point_arrays(shown: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """``colour, mag, colour_err, mag_err, flagged`` of the points drawn (`draw_points`)."""
    return (
        shown["colour"].to_numpy(float),
        shown["mag"].to_numpy(float),
        shown["colour_err"].to_numpy(float),
        shown["mag_err"].to_numpy(float),
        shown["flagged"].to_numpy(bool),
    )


def _track_items(
    tracks: Mapping[str, pd.DataFrame] | Sequence[pd.DataFrame] | None,
) -> list[tuple[str, pd.DataFrame]]:
    if tracks is None:
        return []
    if isinstance(tracks, pd.DataFrame):
        tracks = [tracks]
    if isinstance(tracks, Mapping):
        return [(str(k), v) for k, v in tracks.items()]
    return [(str(t.attrs.get("label", f"model {i + 1}")), t) for i, t in enumerate(tracks)]


def _label_points(
    ax: Axes,
    shown: pd.DataFrame,
    labels: Iterable[str] | None,
    label_column: str,
    table: pd.DataFrame,
) -> None:
    if not labels:
        return
    wanted = {str(v) for v in labels}
    source = (
        table.loc[shown.index, label_column].astype(str)
        if label_column in table.columns
        else shown["label"]
    )
    chosen = shown[shown["label"].isin(wanted) | source.isin(wanted).to_numpy()]
    unmatched = sorted(wanted - set(shown["label"]) - set(source))
    if unmatched:
        warnings.warn(
            f"no candidate drawn on the CMD matches the label(s) {', '.join(unmatched)}; "
            f"give SOURCE_ID or SOURCE_ID:RANK as in the table's {label_column} and rank",
            errors.XrbidWarning,
            stacklevel=3,
        )
    for x, y, text in zip(chosen["colour"], chosen["mag"], chosen["label"]):
        ax.annotate(text, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7)


def _reddening_vector(
    ax: Axes,
    shown: pd.DataFrame,
    extinction: Mapping[str, float],
    blue: str,
    red: str,
    mag: str,
    text: str | None,
) -> None:
    a = {str(k).upper(): float(v) for k, v in extinction.items()}
    missing = [f for f in dict.fromkeys((blue, red, mag)) if f not in a]
    if missing:
        raise InputError(
            f"the extinction vector needs A for {', '.join(missing)}; give A per filter "
            f"(e.g. {missing[0]}=0.3)"
        )
    dx, dy = a[blue] - a[red], a[mag]
    x, y = shown["colour"].to_numpy(float), shown["mag"].to_numpy(float)
    span_x = max(float(np.ptp(x)), 0.5)
    span_y = max(float(np.ptp(y)), 0.5)
    # from the bright, blue corner: the vector points redder and fainter, into the data
    x0 = float(np.min(x)) - 0.05 * span_x
    y0 = float(np.min(y)) - 0.05 * span_y
    ax.annotate(
        "",
        xy=(x0 + dx, y0 + dy),
        xytext=(x0, y0),
        arrowprops=dict(arrowstyle="-|>", color="tab:red", lw=1.2, shrinkA=0, shrinkB=0),
    )
    ax.update_datalim([(x0, y0), (x0 + dx, y0 + dy)])
    ax.autoscale_view()
    label = text if text is not None else f"$A_{{\\mathrm{{{mag}}}}}$ = {a[mag]:.2f}"
    ax.annotate(
        label,
        (x0 + dx, y0 + dy),
        xytext=(4, 0),
        textcoords="offset points",
        fontsize=7,
        color="tab:red",
        va="center",
    )
