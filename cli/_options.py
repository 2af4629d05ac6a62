"""Options and argument types shared by several commands: one declaration per meaning.

Each decorator here stands for an option that means the same on every command using it (the
``-o/--output`` of a command, its ``--plot``, ``--overwrite``, ``--json``, the source IDs,
the archive cache); the help text may name what the option holds for that command.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from xrbid.errors import XrbidError

__all__ = [
    "ANGLE",
    "EXISTING_FILE",
    "FILE",
    "FOLDER",
    "AngleParam",
    "cache_options",
    "extinction_options",
    "filter_values",
    "headers_option",
    "id_options",
    "json_option",
    "max_sep_option",
    "option_group",
    "output_option",
    "overwrite_option",
    "plot_option",
    "source_ids",
    "table_argument",
]

FILE = click.Path(dir_okay=False, path_type=Path)
"""A file named on the command line, as a Path (whether it must exist is the command's check)."""

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
"""An input file that must exist, as a Path."""

FOLDER = click.Path(file_okay=False, path_type=Path)
"""A folder named on the command line, as a Path."""

PLOT_HELP = "Write a residual plot; the format follows the suffix (.png .pdf .svg)."


def filter_values(
    texts: tuple[str, ...], option: str, example: str, value: str = "VALUE"
) -> dict[str, float]:
    """``FILTER=VALUE`` options (``--zeropoint F814W=25.52``, repeatable) as {FILTER: value}.

    Filter names are upper-cased. A text without ``=``, without a filter name or whose value
    is not a finite number is a bad ``option`` (``click.BadParameter``, exit code 2) whose
    message shows ``example``; ``value`` names the number in it (``A (mag)``).
    """
    out: dict[str, float] = {}
    for text in texts:
        name, sep, number = text.partition("=")
        key = name.strip().upper()
        try:
            out[key] = float(number)
        except ValueError:
            sep = ""
        if not sep or not key or not math.isfinite(out[key]):
            raise click.BadParameter(
                f"{text!r}: write FILTER={value}, e.g. {example}", param_hint=option
            )
    return out


def option_group(options: list[Callable], into: str, combine: Callable[..., Any]) -> Callable:
    """Declare ``options`` (in help order) and hand the command their values as one argument.

    The command receives ``into=combine(**values)`` instead of one keyword per option, so
    commands sharing a group of options share how they are read. ``combine`` may raise
    ``click.BadParameter`` for values that are wrong together.
    """
    probe: Callable = lambda: None  # noqa: E731  (collects the options' parameter names)
    for option in options:
        probe = option(probe)
    names = [p.name for p in probe.__click_params__]  # type: ignore[attr-defined]

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in names}
            return f(*args, **kwargs, **{into: combine(**values)})

        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def table_argument(
    name: str = "table_path", metavar: str | None = "TABLE", type: click.ParamType = FILE
) -> Callable:
    """The input table argument (``TABLE`` in the help; ``metavar=None`` shows ``name``)."""
    return click.argument(name, metavar=metavar, type=type)


def output_option(
    help: str | None = None,
    *,
    dest: str = "output",
    required: bool = True,
    type: click.ParamType = FILE,
) -> Callable:
    """``-o/--output``: the command's main output (a file unless ``type`` says otherwise)."""
    return click.option("-o", "--output", dest, required=required, type=type, help=help)


def plot_option(
    help: str = PLOT_HELP, *, dest: str = "plot", type: click.ParamType = FILE
) -> Callable:
    """``--plot``: an optional figure whose format follows its suffix."""
    return click.option("--plot", dest, type=type, help=help)


def max_sep_option(default: str, help: str) -> Callable:
    """``--max-sep``: the largest separation of a match, an angle."""
    return click.option("--max-sep", type=ANGLE, default=default, show_default=True, help=help)


def cache_options(cache_help: str, offline_help: str) -> Callable:
    """``--cache-dir`` and ``--offline``: where archive answers are kept, and cache-only use."""

    def decorate(f: Callable) -> Callable:
        f = click.option("--offline", is_flag=True, help=offline_help)(f)
        return click.option("--cache-dir", type=FOLDER, help=cache_help)(f)

    return decorate


def overwrite_option(f: Callable) -> Callable:
    """``--overwrite``: allow replacing existing output files."""
    return click.option(
        "--overwrite", is_flag=True, help="Replace output files that already exist."
    )(f)


def headers_option(f: Callable) -> Callable:
    """``--headers canonical|xrbid``: the column names of written tables."""
    return click.option(
        "--headers",
        type=click.Choice(["canonical", "xrbid"]),
        default="canonical",
        show_default=True,
        help="Column names to write: canonical (source_id, ra, pu_2sigma, ...) or XRBID-style "
        "(CSC ID, RA, 2Sig, ...).",
    )(f)


def json_option(f: Callable) -> Callable:
    """``--json``: print a machine-readable summary instead of the human one."""
    return click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")(
        f
    )


class AngleParam(click.ParamType):
    """An angle with a unit (``2arcsec``, ``0.5arcmin``, ``1.2"``), as a float in arcsec.

    Parsing is :func:`xrbid.sky.to_arcsec`; a bare number is taken to be in arcsec.
    """

    name = "angle"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        from xrbid.sky import to_arcsec

        try:
            return to_arcsec(value, what="angle")
        except XrbidError as exc:
            self.fail(str(exc), param, ctx)


ANGLE = AngleParam()


def extinction_options(f: Callable) -> Callable:
    """``--ebv-scale``, ``--rv``, ``--law`` and ``--camera``: how an E(B-V) becomes A per filter."""
    f = click.option(
        "--camera",
        default="ACS/WFC",
        show_default=True,
        help="Pivot-wavelength table: ACS/WFC, WFC3/UVIS or WFPC2.",
    )(f)
    f = click.option(
        "--law",
        type=click.Choice(["F99", "CCM89"], case_sensitive=False),
        default="F99",
        show_default=True,
        help="Extinction law: Fitzpatrick 1999 or Cardelli et al. 1989.",
    )(f)
    f = click.option(
        "--rv", type=float, default=3.1, show_default=True, help="R_V = A_V / E(B-V)."
    )(f)
    return click.option(
        "--ebv-scale",
        type=click.Choice(["sf11", "sfd"]),
        default="sf11",
        show_default=True,
        help="sfd: --ebv is from the SFD98 maps and is multiplied by 0.86.",
    )(f)


def id_options(
    f: Callable | None = None,
    *,
    id_help: str = "A source ID to keep (repeat for several).",
    file_help: str = "Text file of source IDs, one per line (# starts a comment).",
) -> Callable:
    """``--id ID`` (repeat for several) and ``--ids-file FILE``: which sources, one convention
    for every command that picks sources by ID (read with :func:`source_ids`).

    Used bare (``@id_options``) or with the help texts of a command (``@id_options(id_help=...)``).
    """

    def decorate(f: Callable) -> Callable:
        f = click.option("--ids-file", type=FILE, help=file_help)(f)
        return click.option("--id", "ids", multiple=True, help=id_help)(f)

    return decorate if f is None else decorate(f)


def source_ids(
    ids: tuple[str, ...], ids_file: Path | None, required: bool, what: str = "sources"
) -> list[str] | None:
    """The IDs given with ``--id`` or ``--ids-file`` (one of them), or None when neither is
    given and ``required`` is false.

    Raises
    ------
    InputError
        If both are given, or neither while ``required``; ``what`` names the sources in the
        message (``"calibrators"``).
    """
    from xrbid.errors import InputError
    from xrbid.tables import read_ids

    if ids and ids_file:
        raise InputError(f"give the {what} with --id ID ... or with --ids-file FILE, not both")
    if ids:
        return list(ids)
    if ids_file:
        return read_ids(ids_file)
    if required:
        raise InputError(f"give the {what} with --id ID ... or with --ids-file FILE (one of them)")
    return None
