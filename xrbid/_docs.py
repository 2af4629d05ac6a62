"""Docstring parts shared by several public functions, written once and inserted."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def insert_doc(**parts: str) -> Callable[[F], F]:
    """A decorator that puts ``parts[name]`` in place of ``{name}`` in a docstring.

    Each part is written without indentation; its continuation lines take the indentation of
    the line holding the placeholder, so the result is the same whether or not the compiler
    dedented the docstring (Python 3.13 does). Other braces (``{"2.1", "2.0"}``) are left as
    they are, unlike with `str.format`.

    Parameters
    ----------
    **parts : str
        Text to insert, by placeholder name.

    Returns
    -------
    callable
        The decorator; it returns the function itself, with its ``__doc__`` filled in (a
        docstring removed by ``python -OO`` stays None).

    Raises
    ------
    ValueError
        A docstring lacks the placeholder of a part.

    Examples
    --------
    >>> @insert_doc(x="x : float\\n    A number.")
    ... def f(x):
    ...     '''Parameters
    ...     ----------
    ...     {x}
    ...     '''
    >>> print(f.__doc__.replace("    ", "."))
    Parameters
    .----------
    .x : float
    ..A number.
    .
    """

    def decorate(func: F) -> F:
        doc = func.__doc__
        if doc is None:
            return func
        for name, text in parts.items():
            placeholder = "{" + name + "}"
            line = next((ln for ln in doc.splitlines() if placeholder in ln), None)
            if line is None:
                raise ValueError(f"the docstring of {func.__qualname__} has no {placeholder}")
            indent = line[: len(line) - len(line.lstrip())]
            doc = doc.replace(placeholder, textwrap.indent(text, indent).lstrip())
        func.__doc__ = doc
        return func

    return decorate
