"""The DS9 session: one object, the same methods over XPA and SAMP."""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .._io import atomic_output, check_output
from ..errors import DS9Error, InputError, XrbidError
from ._checks import (
    CLIP_PERCENT,
    DEFAULT_SCALE,
    check_sky,
    check_stretch,
    field_mismatch,
    format_angle,
    off_image_by,
)
from ._common import DS9Target, T, Transport, _DS9CommandError, _with_timeout, ds9_word
from .connect import check_transport, connect, find_ds9
from .xpa import stopped_hint

__all__ = ["DS9", "find_ds9"]


# --------------------------------------------------------------------------------------------
# the session
# --------------------------------------------------------------------------------------------


class DS9:
    """A live SAOImage DS9, reached over XPA or SAMP.

    Parameters
    ----------
    target : str, optional
        DS9's title (``ds9 -title NAME``) or transport address. Needed when several DS9s run.
    transport : {"auto", "xpa", "samp"}
        ``auto`` looks over XPA first, then over SAMP.
    start : bool
        Start ``ds9`` (titled ``target``, default ``xrbid``) when none answers, and wait until
        it does (up to ``max(timeout, 30)`` seconds).
    timeout : float
        Time limit of every call, in seconds.

    Raises
    ------
    DS9Error
        DS9 not running (and ``start`` false), not installed, several DS9s and no ``target``,
        XPA name server stale or ``XPA_METHOD`` mismatch, no SAMP hub.

    Examples
    --------
    >>> with DS9(start=True) as ds9:  # doctest: +SKIP
    ...     ds9.open_image("a478hst-cutout.fits")
    ...     ds9.load_regions("m101_2sig.reg")
    ...     ds9.pan_to(63.35149, 10.46433)
    """

    def __init__(
        self,
        target: str | None = None,
        transport: Transport = "auto",
        start: bool = False,
        timeout: float = 10.0,
    ) -> None:
        check_transport(transport)
        if not timeout > 0:
            raise InputError(f"timeout must be positive, not {timeout!r}")
        self.timeout = float(timeout)
        self._imgwin_loaded = False
        self._imgwin_refused = ""
        self._wcs_cache: dict[str, Any] = {}
        self._transport, self.process = connect(target, transport, start, self.timeout)

    @property
    def transport(self) -> str:
        """``"xpa"`` or ``"samp"``: how this session talks to DS9."""
        return self._conn.name

    @property
    def target(self) -> DS9Target:
        """The DS9 this session talks to."""
        return self._conn.target

    @property
    def _conn(self):
        if self._transport is None:
            raise DS9Error("this DS9 session is closed; open a new one with DS9(...)")
        return self._transport

    def __repr__(self) -> str:
        state = "closed" if self._transport is None else str(self._transport.target)
        return f"<DS9 {state}>"

    def __enter__(self) -> DS9:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, quit: bool = False) -> None:
        """End the session; with ``quit``, also tell DS9 to exit.

        A DS9 started with ``start=True`` stays open unless ``quit`` is true.
        """
        if self._transport is None:
            return
        try:
            if quit:
                try:
                    self.set("exit")
                except DS9Error:
                    pass  # DS9 may close before answering
                if self.process is not None:
                    try:
                        self.process.wait(5)
                    except subprocess.TimeoutExpired:
                        self.process.kill()
        finally:
            if self._transport is not None:  # a DS9 that exits at once closes it already
                self._transport.close()
            self._transport = None

    # -- raw commands -------------------------------------------------------------------------

    def get(self, command: str, *, timeout: float | None = None) -> str:
        """Send a DS9 ``get`` command (the XPA access point and its parameters) and return the
        answer. ``command`` is passed to DS9 as is: build it from trusted text only.

        Examples
        --------
        >>> ds9.get("frame")  # doctest: +SKIP
        '1'
        """
        conn = self._conn
        limit = self.timeout if timeout is None else timeout
        what = f"'get {command}'"
        if conn.name == "xpa":
            return self._guard(lambda: conn.get(command), limit, what)
        return self._guard(lambda: conn.get(command, limit), limit, what)

    def set(self, command: str, data: str | None = None, *, timeout: float | None = None) -> None:
        """Send a DS9 ``set`` command, with optional ``data`` (e.g. region text) sent apart from
        the command. ``command`` is passed to DS9 as is: build it from trusted text only.

        Examples
        --------
        >>> ds9.set("zoom to fit")  # doctest: +SKIP
        """
        conn = self._conn
        limit = self.timeout if timeout is None else timeout
        what = f"'set {command}'"
        if conn.name == "xpa":
            self._guard(lambda: conn.set(command, data), limit, what)
        else:
            self._guard(lambda: conn.set(command, data, limit), limit, what)

    def _guard(self, call: Callable[[], T], timeout: float, what: str) -> T:
        try:
            return _with_timeout(call, timeout, what)
        except _DS9CommandError:
            raise
        except DS9Error as exc:
            # a frozen or vanished DS9 (or SAMP hub): the session cannot be trusted any more
            name = self._transport.target.name if self._transport is not None else "?"
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            message = str(exc)
            if not message.startswith("the SAMP hub"):
                stopped = stopped_hint(name)
                if stopped is not None:
                    raise DS9Error(f"{stopped} (it did not answer {what})") from None
            raise DS9Error(f"DS9 {name!r}: {message}") from None

    # -- images -----------------------------------------------------------------------------

    def open_image(self, path: str | os.PathLike, frame: Literal["new", "current"] = "new") -> int:
        """Load a FITS image and return the number of the frame that shows it.

        Parameters
        ----------
        path : path
            The FITS file.
        frame : {"new", "current"}
            ``new``: a new frame, except when the current frame shows no image (as in a DS9
            just started), which is used; ``current``: replace the image of the current frame.

        Raises
        ------
        InputError
            The file does not exist, or its path has characters DS9 cannot take.
        DS9Error
            DS9 cannot load it (not FITS, no image); a frame made for it is removed again.

        Examples
        --------
        >>> ds9.open_image("testdata/hst-wfpc2-abell478/a478hst-cutout.fits")  # doctest: +SKIP
        1
        """
        if frame not in ("new", "current"):
            raise InputError(f"frame must be 'new' or 'current', not {frame!r}")
        path = _image_path(path)
        made_frame = False
        if not self.frames() or (frame == "new" and self.image_file()):
            self.set("frame new")
            made_frame = True
        number = self.current_frame()
        try:
            self.set(f"file {ds9_word(path, 'image path')}")
        except _DS9CommandError as exc:
            if made_frame:
                self.set("frame delete")
            raise DS9Error(f"DS9 could not load {path}: {exc}; is it a FITS image?") from None
        except InputError:  # a name the transport cannot carry: refused before it was sent
            if made_frame:
                self.set("frame delete")
            raise
        return number

    def image_file(self) -> str:
        """The file shown in the current frame (``""`` when there is no frame or no image)."""
        if not self.frames():
            return ""  # DS9 8.4 leaves "get file" unanswered over SAMP when there is no frame
        return self.get("file")

    def has_celestial_wcs(self) -> bool:
        """Whether the image in the current frame has a celestial WCS DS9 can use."""
        return bool(self.get("pan wcs fk5 degrees").strip())

    def _require_image(self, doing: str) -> None:
        if not self.frames():
            raise DS9Error(f"DS9 has no frame and no image: open an image before {doing}")
        if not self.image_file():
            raise DS9Error(f"no image in DS9 frame {self.current_frame()}: open one before {doing}")

    def _require_wcs(self, doing: str) -> None:
        self._require_image(doing)
        if not self.has_celestial_wcs():
            raise DS9Error(
                f"the image in DS9 frame {self.current_frame()} ({self.image_file()}) has no "
                f"celestial WCS, so {doing} at RA/Dec is impossible; use an image with a sky WCS"
            )

    def image_wcs(self):
        """The celestial WCS (astropy) and the (rows, columns) shape of the image in the current
        frame, from the FITS header DS9 shows (read once per frame and file)."""
        from astropy.io import fits
        from astropy.wcs import WCS

        key = (self.current_frame(), self.image_file())
        if self._wcs_cache.get("key") != key:
            header = fits.Header.fromstring(self.get("fits header"), sep="\n")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. non-standard keywords of old HST headers
                wcs = WCS(header).celestial
            shape = (int(self.get("fits height")), int(self.get("fits width")))
            self._wcs_cache = {"key": key, "value": (wcs, shape)}
        return self._wcs_cache["value"]

    def _require_on_image(self, ra: float, dec: float, doing: str) -> None:
        wcs, shape = self.image_wcs()
        off = off_image_by(wcs, shape, ra, dec)
        if off is not None:
            raise InputError(
                f"cannot {doing} RA, Dec {ra:.6f} {dec:+.6f}: it is off the image in DS9 frame "
                f"{self.current_frame()} ({Path(self.image_file()).name}) by "
                f"{format_angle(off)}; give a position on the image"
            )

    # -- regions ----------------------------------------------------------------------------

    def load_regions(
        self, regions: str | os.PathLike | pd.DataFrame, **format_options: Any
    ) -> None:
        """Draw regions on the current frame.

        Parameters
        ----------
        regions : path, str or pandas.DataFrame
            A region file, region text, or a table (turned into region text by
            :func:`xrbid.regions.format_regions` with ``format_options``, e.g.
            ``radius_column="pu_2sigma", label_column="source_id"``).
        **format_options
            Passed to :func:`~xrbid.regions.format_regions` for a table.

        Raises
        ------
        DS9Error
            No image in the frame, or DS9 rejects the regions (its message is included).

        Examples
        --------
        >>> ds9.load_regions("m101_2sig.reg")  # doctest: +SKIP
        >>> ds9.load_regions(table, radius=2.0, label_column="source_id")  # doctest: +SKIP
        """
        source, text = _region_text(regions, format_options)
        self._require_image("drawing regions")
        elsewhere = self._elsewhere(source, text)
        if elsewhere is not None:  # DS9 would refuse them over XPA and drop them over SAMP
            raise DS9Error(elsewhere)
        try:
            self.set("regions", text)
        except _DS9CommandError as exc:
            raise DS9Error(f"DS9 rejected the regions of {source}: {exc}") from None

    def _elsewhere(self, source: str, text: str) -> str | None:
        """Why sky regions none of which lies on the image cannot be drawn (None when some
        do, when they have no sky positions, or when the image has no sky WCS)."""
        from ..regions import parse_regions

        if not self.has_celestial_wcs():
            return None
        try:
            wcs, shape = self.image_wcs()
            mismatch = field_mismatch(wcs, shape, parse_regions(text, source=source))
        except XrbidError:
            return None  # DS9 says what is wrong with regions the parser cannot read
        if mismatch is None:
            return None
        (c_ra, c_dec), (r_ra, r_dec), apart = mismatch
        return (
            f"the regions of {source} lie outside {Path(self.image_file()).name} (field centre "
            f"{c_ra:.5f} {c_dec:+.5f}, regions centre {r_ra:.5f} {r_dec:+.5f}, {apart:.1f} "
            "arcmin apart): they belong to another field; load the image of their field, or "
            "the regions of this one"
        )

    def regions(self, system: Literal["fk5", "icrs", "image"] = "fk5") -> pd.DataFrame:
        """The regions drawn on the current frame now, as a table (see
        :func:`xrbid.regions.parse_regions`), including what the user added, moved or deleted.

        Parameters
        ----------
        system : {"fk5", "icrs", "image"}
            Coordinates DS9 reports: sky (degrees, arcsec sizes) or image pixels.

        Examples
        --------
        >>> ds9.regions()[["ra", "dec", "radius", "label"]]  # doctest: +SKIP
        """
        return self._read_regions(system, selected=False)

    def selected_regions(self, system: Literal["fk5", "icrs", "image"] = "fk5") -> pd.DataFrame:
        """The regions the user has selected on the current frame (see :meth:`regions`)."""
        return self._read_regions(system, selected=True)

    def _read_regions(self, system: str, selected: bool) -> pd.DataFrame:
        from ..regions import parse_regions

        if system in ("fk5", "icrs"):
            coords = f"-system wcs -sky {system} -skyformat degrees"
        elif system == "image":
            coords = "-system image"
        else:
            raise InputError(f"unknown region system {system!r}; use fk5, icrs or image")
        which = "selected " if selected else ""
        text = self.get(f"regions {which}-format ds9 {coords}")
        return parse_regions(text, source=f"DS9 {self.target.name} frame {self.current_frame()}")

    def delete_regions(self) -> None:
        """Delete every region of the current frame."""
        self.set("regions delete all")

    # -- view -------------------------------------------------------------------------------

    def pan_to(self, ra: float, dec: float) -> None:
        """Centre the current frame on (``ra``, ``dec``), degrees (FK5/ICRS).

        Raises
        ------
        DS9Error
            The image has no celestial WCS.
        """
        ra, dec = check_sky(ra, dec)
        self._require_wcs("panning")
        self._require_on_image(ra, dec, "pan to")
        self.set(f"pan to {ra:.10f} {dec:.10f} wcs fk5")

    def pan_position(self) -> tuple[float, float]:
        """(RA, Dec) in degrees of the centre of the current frame."""
        self._require_wcs("reading the pan position")
        return _two_floats(self.get("pan wcs fk5 degrees"), "pan position")

    def zoom(self, level: float | Literal["fit"]) -> None:
        """Zoom the current frame to ``level`` (1 = one image pixel per screen pixel) or
        ``"fit"`` (the whole image in the frame)."""
        if level == "fit":
            self.set("zoom to fit")
            return
        try:
            value = float(level)
        except (TypeError, ValueError):
            raise InputError(f"zoom must be a positive number or 'fit', not {level!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise InputError(f"zoom must be a positive number or 'fit', not {level!r}")
        self.set(f"zoom to {value:.6g}")

    def zoom_level(self) -> float:
        """The zoom factor of the current frame."""
        return float(self.get("zoom").split()[0])

    def crosshair(self, ra: float, dec: float) -> None:
        """Switch DS9 to crosshair mode and put the crosshair on (``ra``, ``dec``), degrees."""
        ra, dec = check_sky(ra, dec)
        self._require_wcs("placing the crosshair")
        self._require_on_image(ra, dec, "put the crosshair on")
        self.set("mode crosshair")
        self.set(f"crosshair {ra:.10f} {dec:.10f} wcs fk5")

    def crosshair_position(self) -> tuple[float, float] | None:
        """(RA, Dec) of the crosshair in degrees, or None when DS9 is not in crosshair mode."""
        if self.get("mode").strip() != "crosshair":
            return None
        self._require_wcs("reading the crosshair")
        return _two_floats(self.get("crosshair wcs fk5 degrees"), "crosshair position")

    def edit_mode(self) -> None:
        """Leave crosshair mode: mouse clicks select and edit regions again."""
        self.set("mode region")

    # -- frames -----------------------------------------------------------------------------

    def frames(self) -> list[int]:
        """The frame numbers that exist, in order."""
        return [int(v) for v in self.get("frame all").split()]

    def current_frame(self) -> int:
        """The number of the current frame (0 when there is none)."""
        text = self.get("frame").strip()
        return int(text) if text else 0

    def frame(self, number: int) -> None:
        """Make frame ``number`` current."""
        if int(number) not in self.frames():
            raise InputError(f"DS9 has no frame {number}; frames: {self.frames()}")
        self.set(f"frame {int(number)}")

    def delete_frames(self) -> None:
        """Delete every frame (a clean DS9)."""
        self.set("frame delete all")

    def tile(self, mode: Literal["grid", "column", "row"] | bool = "grid") -> None:
        """Show all frames side by side (``grid``, ``column``, ``row``); ``False`` for one."""
        if mode is False:
            self.set("tile no")
            return
        if mode is True:
            mode = "grid"
        if mode not in ("grid", "column", "row"):
            raise InputError(f"tile mode must be grid, column or row, not {mode!r}")
        self.set(f"tile mode {mode}")
        self.set("tile yes")

    def tile_state(self) -> str | None:
        """The tile mode when frames are tiled, else None."""
        if self.get("tile").strip() != "yes":
            return None
        return self.get("tile mode").strip()

    def blink(self, interval: float | bool | None = 0.5) -> None:
        """Blink the frames every ``interval`` seconds; ``False`` (or None) stops blinking and
        shows one frame."""
        if interval is None or interval is False:
            self.set("blink no")
            self.set("single")
            return
        try:
            value = float(interval)
        except (TypeError, ValueError):
            value = math.nan
        if interval is True or not (value > 0 and math.isfinite(value)):
            raise InputError(
                f"blink interval must be a positive number of seconds, not {interval!r}"
            )
        self.set(f"blink interval {value:g}")
        self.set("blink yes")

    def blink_state(self) -> float | None:
        """The blink interval in seconds while blinking, else None."""
        if self.get("blink").strip() != "yes":
            return None
        return float(self.get("blink interval"))

    def match_frames(self, system: Literal["wcs", "image"] = "wcs") -> None:
        """Match every frame to the current one on ``system`` and keep them locked so."""
        if system not in ("wcs", "image"):
            raise InputError(f"match system must be wcs or image, not {system!r}")
        if system == "wcs":
            self._require_wcs("matching frames on WCS")
        self.set(f"match frame {system}")
        self.set(f"lock frame {system}")
        self.set(f"lock crosshair {system}")

    def stretch(
        self, scale: str = DEFAULT_SCALE, limits: tuple[float, float] | None = None
    ) -> None:
        """Set how the current frame maps pixel values to grey levels.

        Parameters
        ----------
        scale : {"linear", "log", "sqrt", "asinh", "zscale"}
            The function, applied between the 0.25 and 99.75 percentiles of the pixel values
            (DS9's 99.5 % clip), or ``zscale`` (linear between IRAF's zscale limits). The
            default, log with the 99.5 % clip, shows the faint sources of an HST image
            without saturating its stars.
        limits : (float, float), optional
            Pixel values shown black and white, in the image's units (e.g. electrons/s),
            instead of the clip.

        Raises
        ------
        InputError
            Unknown scale, limits not finite or not increasing, or limits with zscale.
        """
        scale, limits = check_stretch(scale, limits)
        if scale == "zscale":
            self.set("scale linear")
            self.set("scale mode zscale")
        elif limits is not None:
            self.set(f"scale {scale}")
            self.set(f"scale limits {limits[0]:.8g} {limits[1]:.8g}")
        else:
            self.set(f"scale {scale}")
            self.set(f"scale mode {CLIP_PERCENT:g}")

    def scale(
        self,
        function: str | None = None,
        limits: str | float | tuple[float, float] | None = None,
    ) -> None:
        """Set the colour scale of the current frame.

        Parameters
        ----------
        function : {"linear", "log", "pow", "sqrt", "squared", "asinh", "sinh", "histequ"}, optional
        limits : {"minmax", "zscale", "zmax"}, float or (low, high), optional
            A named mode, a percentile clip (``99.5``), or explicit limits.
        """
        functions = ("linear", "log", "pow", "sqrt", "squared", "asinh", "sinh", "histequ")
        if function is not None:
            if function not in functions:
                raise InputError(f"scale must be one of {', '.join(functions)}, not {function!r}")
            self.set(f"scale {function}")
        if limits is None:
            return
        if isinstance(limits, str):
            if limits not in ("minmax", "zscale", "zmax"):
                raise InputError(
                    f"scale limits must be minmax, zscale, zmax, a percentile or "
                    f"(low, high), not {limits!r}"
                )
            self.set(f"scale mode {limits}")
        elif isinstance(limits, tuple | list):
            low, high = (float(v) for v in limits)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise InputError(f"scale limits must be finite with low < high, not {limits!r}")
            self.set(f"scale limits {low:.8g} {high:.8g}")
        else:
            pct = float(limits)
            if not 0 < pct <= 100:
                raise InputError(f"scale percentile must be in (0, 100], not {limits!r}")
            self.set(f"scale mode {pct:g}")

    def view_size(self, width: int, height: int) -> None:
        """Set the size of DS9's image area in screen pixels (what :meth:`snapshot` saves)."""
        self.set(f"width {int(width)}")
        self.set(f"height {int(height)}")

    # -- pictures ---------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _image_path(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, expected a FITS image")
    p = p.resolve()
    ds9_word(p, "image path")  # refused before any frame is made
    return p


def _region_text(regions: Any, format_options: dict[str, Any]) -> tuple[str, str]:
    from ..regions import format_regions

    if isinstance(regions, pd.DataFrame):
        return "the table", format_regions(regions, **format_options)
    if format_options:
        raise InputError("format options apply to a table; a region file is sent as it is")
    looks_like_path = (
        isinstance(regions, str)
        and "\n" not in regions
        and "(" not in regions
        and (Path(regions).is_file() or Path(regions).suffix.lower() in (".reg", ".ds9"))
    )
    if isinstance(regions, os.PathLike) or looks_like_path:
        path = Path(regions)
        try:
            return str(path), path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise InputError(f"{path}: no such region file; check the path") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a folder, expected a region file") from None
    if isinstance(regions, str):
        return "the region text", regions
    raise InputError(
        f"regions must be a region file, region text or a table, not {type(regions).__name__}"
    )


def _two_floats(text: str, what: str) -> tuple[float, float]:
    parts = text.split()
    try:
        return float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise DS9Error(f"DS9 answered {text!r} for the {what}; expected two numbers") from None
