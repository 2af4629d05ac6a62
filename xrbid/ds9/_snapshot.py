"""Pictures of what a DS9 session shows: DS9's own PNG rendering, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .._io import atomic_output, check_output
from ..errors import DS9Error
from ._common import _DS9CommandError, ds9_word


class SnapshotMixin:
    """The snapshot method of :class:`~xrbid.ds9.DS9` (it talks through its ``set``)."""

    _imgwin_loaded = False
    _imgwin_refused = ""

    def snapshot(self, png_path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Save what DS9 shows (image, regions, crosshair, colour bar) as a PNG.

        Uses DS9's own rendering (``saveimage png``). Debian's DS9 does not load the Tk image
        format it needs for that, so the ``img::window`` Tcl package is loaded into DS9 first.

        Raises
        ------
        OutputExistsError
            ``png_path`` exists and ``overwrite`` is false.

        Examples
        --------
        >>> ds9.snapshot("m101_regions.png")  # doctest: +SKIP
        PosixPath('m101_regions.png')
        """
        path = check_output(png_path, overwrite)
        ds9_word(path.resolve(), "picture path")  # refused before DS9 is asked anything
        self._require_image("saving a snapshot")
        self._load_window_format()
        with atomic_output(path, overwrite) as tmp:
            word = ds9_word(tmp.resolve(), "picture path")
            try:
                self.set(f"saveimage png {word}")
            except _DS9CommandError as exc:
                why = ""
                if self._imgwin_refused:
                    why = (
                        f" (DS9 refused to load its PNG writer: {self._imgwin_refused}; over "
                        "XPA DS9 runs scripts only with XPA_METHOD=local, so start it with "
                        "XPA_METHOD=local or use --transport samp)"
                    )
                raise DS9Error(f"DS9 could not save {path}: {exc}{why}") from None
            if tmp.stat().st_size == 0:
                raise DS9Error(f"DS9 wrote an empty picture for {path}; is its window visible?")
        return path

    def _load_window_format(self) -> None:
        if self._imgwin_loaded:
            return
        with tempfile.TemporaryDirectory(prefix="xrbid-ds9-") as folder:
            script = Path(folder) / "window_format.tcl"
            script.write_text("catch {package require img::window}\n", encoding="utf-8")
            try:
                self.set(f"source {ds9_word(script, 'script path')}")
            except _DS9CommandError as exc:  # XPA with XPA_METHOD=inet: saveimage may still work
                self._imgwin_refused = str(exc)
        self._imgwin_loaded = True
