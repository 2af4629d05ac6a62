"""The view of a DS9 session: pan, zoom, crosshair, and how pixel values map to grey levels."""

from __future__ import annotations

import math
from typing import Literal

from ..errors import DS9Error, InputError
from ._checks import CLIP_PERCENT, DEFAULT_SCALE, check_sky, check_stretch


class ViewMixin:
    """The view methods of :class:`~xrbid.ds9.DS9` (they talk through its ``get``/``set``)."""

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


def _two_floats(text: str, what: str) -> tuple[float, float]:
    parts = text.split()
    try:
        return float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise DS9Error(f"DS9 answered {text!r} for the {what}; expected two numbers") from None
