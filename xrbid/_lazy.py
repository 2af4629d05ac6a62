"""Attributes of a package imported on first use (PEP 562 module ``__getattr__`` and
``__dir__``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, modules: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``modules[name]`` on first access of ``name``.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (anchor of relative module names, and named in the error).
    modules : mapping of str to str
        Attribute name -> module that defines it (absolute, or relative such as ``".finder"``).
    namespace : dict
        The package's ``globals()``: the value is stored there, so the import happens once.

    Raises
    ------
    AttributeError
        From the returned function, for a name not in ``modules``.
    """

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return __getattr__


def lazy_dir(modules: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[], list[str]]:
    """A module ``__dir__`` listing the names already defined and those imported on first use.

    Parameters
    ----------
    modules : mapping of str to str
        The lazy names, as given to :func:`lazy_getattr`.
    namespace : dict
        The package's ``globals()``.
    """

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(modules))

    return __dir__
