"""Shared pieces of the command line: error handling, output options, quantity parsing."""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from xrbid.errors import XrbidError

__all__ = [
    "ANGLE",
    "IMAGE_FILE",
    "AngleParam",
    "ImageFileParam",
    "UserError",
    "XrbidCommand",
    "XrbidGroup",
    "emit",
    "extinction_options",
    "headers_option",
    "id_options",
    "json_option",
    "overwrite_option",
    "source_ids",
]


class UserError(click.ClickException):
    """A user error: printed as one line, exit code 1, no traceback."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        message = " ".join(self.format_message().split("\n"))
        click.echo(f"Error: {message}", err=True)


def _as_user_error(exc: BaseException) -> UserError | None:
    """The one-line error for an expected failure (user input, environment), else None."""
    from xrbid._io import input_error

    if isinstance(exc, XrbidError):
        return UserError(str(exc))
    err = input_error(exc, getattr(exc, "filename", None))
    if err is not None:
        return UserError(str(err))
    return None


# Click's own checks of a path argument ("File 'x' is a directory.") are data errors
_CLICK_PATH = re.compile(r"^(?:File|Directory|Path) '(?P<path>.*)' (?P<what>.*?)\.?$")
_CLICK_PATH_WORDS = {
    "is a directory": "is a folder; give a file",
    "does not exist": "no such file; check the path",
    "is not readable": "cannot be read; check the file's permissions",
    "is a file": "is a file; give a folder",
}


def _path_error(exc: click.BadParameter) -> UserError | None:
    if exc.param is None or not isinstance(exc.param.type, click.Path):
        return None
    m = _CLICK_PATH.match(exc.message)
    if m is None or m.group("what") not in _CLICK_PATH_WORDS:
        return None
    return UserError(f"{m.group('path')}: {_CLICK_PATH_WORDS[m.group('what')]}")


class XrbidCommand(click.Command):
    """A command with the promises of docs/reliability.md.

    While it runs: an output naming the same file as another path option (an input, or another
    output) is refused; every output is committed together at the end, or none is
    (:func:`xrbid._io.output_transaction`); library warnings are shown as one ``Warning: ...``
    line each after a successful run, and dropped when the command fails (its ``Error:`` line
    says what went wrong).
    """

    def invoke(self, ctx: click.Context) -> Any:
        from xrbid._io import guard_paths, output_transaction

        with (
            _warnings_after_success(),
            _summary_after_commit(),
            guard_paths(_given_paths(self, ctx)),
            output_transaction(),
        ):
            return super().invoke(ctx)


_SUMMARIES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "xrbid_summaries", default=None
)


@contextlib.contextmanager
def _summary_after_commit() -> Any:
    """Hold what :func:`emit` prints until the outputs are committed.

    A summary says ``-> out.ecsv``; if the commit then fails (another process created the file
    meanwhile, the disk filled), it would be a false report on stdout beside the ``Error:``
    line. It is printed only once the block ends without an exception.
    """
    held: list[str] = []
    token = _SUMMARIES.set(held)
    try:
        yield
    finally:
        _SUMMARIES.reset(token)
    for text in held:
        click.echo(text, nl=False)


def _given_paths(command: click.Command, ctx: click.Context) -> list[tuple[str, str]]:
    """(option, path) for every value of a path option or argument the command was given."""
    named = []
    for param in command.params:
        if not isinstance(param.type, click.Path):
            continue
        value = ctx.params.get(param.name)
        if value is None:
            continue
        values = value if isinstance(value, tuple | list) else (value,)
        if isinstance(param, click.Option):
            label = "/".join(param.opts)
        else:
            label = param.metavar or param.human_readable_name
        named.extend((label, v) for v in values if v not in (None, "", "-"))
    return named


@contextlib.contextmanager
def _warnings_after_success() -> Any:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield
    seen: set[str] = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text and text not in seen:
            seen.add(text)
            click.echo(f"Warning: {text}", err=True)


class XrbidGroup(click.Group):
    """A Click group that turns library errors (`XrbidError`) into one-line user errors.

    Its commands are `XrbidCommand`s: the one place where warnings (`xrbid.errors.XrbidWarning`
    and those of the libraries underneath) become ``Warning: ...`` lines.
    """

    command_class = XrbidCommand

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.BadParameter as exc:
            err = _path_error(exc)
            if err is None:
                raise
            raise err from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            err = _as_user_error(exc)
            if err is None:
                raise
            raise err from exc


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


def emit(summary: str, data: dict[str, Any], as_json: bool) -> None:
    """Print the one-line human ``summary``, or ``data`` as strict JSON when ``as_json``.

    NaN and infinities, which strict JSON parsers (``jq``, browsers, ``json.loads(...,
    parse_constant=...)`` users) refuse, are written as ``null``. Inside a command it is printed
    once the command's outputs are committed, so a failed commit prints only its ``Error:`` line.
    """
    text = json.dumps(_strict_json(data), allow_nan=False) if as_json else summary
    held = _SUMMARIES.get()
    if held is None:
        click.echo(text)
    else:  # inside a command: printed after its outputs are committed
        held.append(text + "\n")


def _strict_json(obj: Any) -> Any:
    """``obj`` as plain JSON values: numpy scalars/arrays unpacked, NaN/inf as None."""
    if isinstance(obj, dict):
        return {str(k): _strict_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_strict_json(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, str | bytes):  # numpy arrays, scalars
        return _strict_json(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    return str(obj)


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


def id_options(f: Callable) -> Callable:
    """``--id ID`` (repeat for several) and ``--ids-file FILE``: which sources, one convention
    for every command that picks sources by ID (read with :func:`source_ids`)."""
    f = click.option(
        "--ids-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Text file of source IDs, one per line (# starts a comment).",
    )(f)
    return click.option(
        "--id", "ids", multiple=True, help="A source ID to keep (repeat for several)."
    )(f)


def source_ids(ids: tuple[str, ...], ids_file: Path | None, required: bool) -> list[str] | None:
    """The IDs given with ``--id`` or ``--ids-file`` (one of them), or None when neither is
    given and ``required`` is false."""
    from xrbid.errors import InputError
    from xrbid.tables import read_ids

    if ids and ids_file:
        raise InputError("give the sources with --id ID ... or with --ids-file FILE, not both")
    if ids:
        return list(ids)
    if ids_file:
        return read_ids(ids_file)
    if required:
        raise InputError("give the sources with --id ID ... or with --ids-file FILE (one of them)")
    return None


class ImageFileParam(click.Path):
    """An existing image file for commands that open whole files (DS9 shows its first image).

    ``IMAGE[ext]`` (``[2]``, ``[SCI,2]``, ``[chip=N]``) is read by the one parser of image
    arguments, :func:`xrbid.photometry.images.parse_image_spec`, and refused with a message
    saying that the whole file is opened.
    """

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if "[" in str(value) and not Path(value).exists():
            from xrbid.photometry.images import parse_image_spec

            try:
                spec = parse_image_spec(value)
            except XrbidError as exc:
                self.fail(str(exc), param, ctx)
            if spec.ext is not None or spec.chip is not None:
                self.fail(
                    f"{value}: DS9 opens the whole file and shows its first image; give "
                    f"{spec.path} without [...]",
                    param,
                    ctx,
                )
        return super().convert(value, param, ctx)


IMAGE_FILE = ImageFileParam()
