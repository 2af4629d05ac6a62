"""The on-disk cache of archive answers and the offline switch."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from astropy.table import Table

from .._io import atomic_output
from ..errors import ArchiveError

__all__ = ["cache_dir", "cached_answer", "is_offline"]


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder of the query cache.

    Parameters
    ----------
    path : path-like, optional
        Explicit folder; otherwise ``$XRBID_CACHE_DIR``, otherwise ``$XDG_CACHE_HOME/xrbid``
        (``~/.cache/xrbid``).

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    if path is not None:
        return Path(path)
    if os.environ.get("XRBID_CACHE_DIR"):
        return Path(os.environ["XRBID_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "xrbid"


def is_offline(offline: bool | None = None) -> bool:
    """Whether archives may not be contacted: ``offline`` if given, else ``$XRBID_OFFLINE``."""
    if offline is not None:
        return bool(offline)
    return os.environ.get("XRBID_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _cache_key(service: str, query: str, fmt: str) -> str:
    payload = json.dumps({"service": service, "query": query, "format": fmt}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def cached_answer(
    service: str,
    query: str,
    fmt: str,
    fetch: Callable[[], Table],
    *,
    cache: str | os.PathLike | bool | None,
    offline: bool | None,
    what: str,
) -> Table:
    """Return the archive's answer to ``query`` from the cache, or ``fetch()`` it and keep it.

    ``cache=False`` turns the cache off (always ask the archive).
    """
    use_cache = cache is not False
    path = None
    if use_cache:
        folder = cache_dir(None if cache is True else cache)
        path = folder / f"{_cache_key(service, query, fmt)}.ecsv"
        if path.exists():
            return Table.read(path, format="ascii.ecsv")
    if is_offline(offline):
        where = f" in {path.parent}" if path is not None else ""
        raise ArchiveError(
            f"offline mode: no cached {what} answer for this query{where}; run it once with "
            "network access (unset XRBID_OFFLINE), or point XRBID_CACHE_DIR at a cache that has it"
        )
    table = fetch()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path, overwrite=True) as tmp:
            _plain_meta(table).write(tmp, format="ascii.ecsv", overwrite=True)
    return table


def _plain_meta(table: Table) -> Table:
    """A copy whose metadata ECSV can write (archive readers leave non-YAML objects there)."""
    out = table.copy(copy_data=False)
    out.meta = {}
    for col in out.itercols():
        col.meta = {}
    return out
