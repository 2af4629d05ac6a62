"""Shared pieces of the command line: error handling, outputs and summaries, image arguments.

The options shared by several commands live in :mod:`._options`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from xrbid.errors import XrbidError

# the options of the first command modules, importable from here as before
from ._options import (
    ANGLE,
    AngleParam,
    extinction_options,
    headers_option,
    id_options,
    json_option,
    overwrite_option,
    source_ids,
)

__all__ = [
    "ANGLE",
    "IMAGE_FILE",
    "AngleParam",
    "ImageFileParam",
    "UserError",
    "XrbidCommand",
    "XrbidGroup",
    "check_outputs",
    "emit",
    "emit_written",
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
        values = [getattr(v, "path", v) for v in values]  # an ImageSpec: its file
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


def emit_written(
    source: Any,
    text: str,
    output: Any,
    data: dict[str, Any],
    as_json: bool,
    also: Iterable[Any] = (),
    note: str = "",
) -> None:
    """The summary of a command that read ``source`` and wrote ``output``.

    Prints ``SOURCE: TEXT -> OUTPUT`` (then `` and A, B`` for the further files of ``also``,
    then ``note``), or with ``--json`` ``data`` with ``input`` and ``output`` first; see
    :func:`emit`.
    """
    also = [str(p) for p in also]
    extra = f" and {', '.join(also)}" if also else ""
    emit(
        f"{source}: {text} -> {output}{extra}{note}",
        {"input": str(source), "output": str(output), **data},
        as_json,
    )


def check_outputs(overwrite: bool, *paths: Any, figures: Iterable[Any] = ()) -> None:
    """Refuse, before any work, outputs that exist (without ``overwrite``) or cannot be written.

    ``paths`` are any outputs (None entries skipped); ``figures`` are also checked for a
    figure format their suffix names (:func:`xrbid.figures.check_figure_path`).
    """
    from xrbid._io import check_output

    figures = [p for p in figures if p is not None]
    for path in (*paths, *figures):
        if path is not None:
            check_output(path, overwrite)
    if figures:
        from xrbid.figures import check_figure_path

        for path in figures:
            check_figure_path(path, overwrite)


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


class ImageFileParam(click.Path):
    """An existing image file, or the part of one: ``IMAGE[2]``, ``IMAGE[SCI,2]``,
    ``IMAGE[chip=N]``, read by the one parser of image arguments,
    :func:`xrbid.photometry.parse_image_spec`.

    The value is the `Path`, or the `ImageSpec` when brackets name a part (the photometry
    package is imported only then, so plain paths stay quick).
    """

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if not isinstance(value, str | os.PathLike):  # converted already (an ImageSpec)
            return value
        if "[" not in str(value) or _exists(value):
            return super().convert(value, param, ctx)
        from xrbid.photometry.image_spec import ImageSpec, parse_image_spec

        try:
            spec = parse_image_spec(value)
        except XrbidError as exc:
            self.fail(str(exc), param, ctx)
        return ImageSpec(super().convert(spec.path, param, ctx), spec.ext, spec.chip)


def _exists(value: str | os.PathLike) -> bool:
    """Whether a file of that name exists; False for a name the system cannot take (too long,
    a NUL byte), which the parser then reads or refuses in one line."""
    try:
        return Path(value).exists()
    except (OSError, ValueError):
        return False


IMAGE_FILE = ImageFileParam()
