"""The formulas of dophot3's special terms: sub-pixel response, universal colour, non-linearity.

The term-language document (`xrbid.calibration.terms`) names these terms without their
formulas; they are the definitions of the reference implementation it describes, the photometric
model of pyrt (``pyrt/core/fotfit.py``, ``fotfit.model``; M. Jelínek, ASU AV ČR,
https://github.com/mates14/pyrt, read at commit be64b45), written here for xrbid's model
``m_instr - m_std = ZP + Σ terms``. pyrt's model is the other way round (catalogue magnitude =
instrumental magnitude + terms), so a coefficient fitted here has the opposite sign of
pyrt's; the position parameter of ``XC``/``SC`` keeps its meaning (see `universal_colour`).
docs/calibration-photometric.md lists each formula beside its source.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rational", "subpixel", "universal_colour"]


def subpixel(x: np.ndarray | None = None, y: np.ndarray | None = None) -> np.ndarray:
    """The sub-pixel response columns: ``SX``, ``SY`` or ``SXY``.

    ``SX = sin(π · frac(x))``, ``SY = sin(π · frac(y))``, ``SXY = SX · SY``, where ``frac(x) =
    x − floor(x)`` is the position of the star inside its pixel. With pixel centres at integer
    coordinates (FITS and photutils conventions alike) the term is 0 at a pixel centre and 1
    on a pixel edge: it measures how much fainter a star measures when it falls between pixels.

    Parameters
    ----------
    x, y : numpy.ndarray, optional
        Pixel coordinates (not normalised); give ``x`` for SX, ``y`` for SY, both for SXY.

    Returns
    -------
    numpy.ndarray
        The column, same shape as the coordinates.

    Notes
    -----
    pyrt ``fotfit.model``, branches ``SX``, ``SY``, ``SXY``. pyrt evaluates the phase at the
    catalogue position transformed to pixels by the image WCS; xrbid at the ``x``, ``y``
    columns of the photometry table (put catalogue-projected positions there to do the same).

    Examples
    --------
    >>> subpixel(x=np.array([10.0, 10.5, 11.25])).round(4).tolist()
    [0.0, 1.0, 0.7071]
    """
    out = None
    for coord in (x, y):
        if coord is None:
            continue
        c = np.asarray(coord, dtype=float)
        phase = np.sin(np.pi * (c - np.floor(c)))
        out = phase if out is None else out * phase
    if out is None:
        raise ValueError("subpixel needs x, y or both")
    return out


def universal_colour(
    value: float | np.ndarray,
    below: np.ndarray,
    above: np.ndarray,
    beyond: np.ndarray,
    *,
    smooth: bool = False,
) -> np.ndarray:
    """The universal colour terms ``XC`` (piecewise linear) and ``SC`` (smooth).

    The instrument's band is taken to sit at position ``p + v`` among the catalogue filters
    ordered by wavelength, where ``p`` is the position of the reference (standard) filter and
    ``v`` the term's value. Its magnitude is the catalogue magnitude interpolated linearly
    between neighbouring filters, so

    ``m_instr − m_ref = XC(v) = v·Δ₋`` (v < 0), ``v·Δ₀`` (0 ≤ v ≤ 1), ``Δ₀ + (v − 1)·Δ₊`` (v > 1),

    with ``Δ₋ = m_p − m_(p−1)``, ``Δ₀ = m_(p+1) − m_p``, ``Δ₊ = m_(p+2) − m_(p+1)`` (each "next
    filter minus this one", the document's colour convention: with the reference second, as
    dophot3 requires, Δ₋, Δ₀, Δ₊ are its colours C, D, E). ``v = 0`` is the reference band
    itself, ``v = 1`` the next filter, ``v = −0.3`` 30 % of the way to the previous one.

    ``SC`` blends the neighbouring slopes with weights ``w₁ = (1 − sin πv)/2``,
    ``w₂ = (1 + sin πv)/2`` over the half-intervals around each filter::

        SC(v) = v·Δ₋                                   v < −1/2
                w₁·v·Δ₋ + w₂·v·Δ₀                      −1/2 ≤ v < 1/2
                Δ₀ + w₂·(v − 1)·Δ₀ + w₁·(v − 1)·Δ₊     1/2 ≤ v ≤ 3/2
                Δ₀ + (v − 1)·Δ₊                        v > 3/2

    which is continuous with ``XC`` at the joins and equals it at ``v = 0`` and ``v = 1``.

    Parameters
    ----------
    value : float or numpy.ndarray
        ``v`` (one value, or one per row for a per-image term).
    below, above, beyond : numpy.ndarray
        ``Δ₋``, ``Δ₀``, ``Δ₊`` per row (mag).
    smooth : bool
        ``SC`` instead of ``XC``.

    Returns
    -------
    numpy.ndarray
        The term's contribution to ``m_instr − m_ref`` per row (mag).

    Notes
    -----
    pyrt ``fotfit.model``, branches ``XC`` and ``SC``, with its colours ``color1..3`` (first
    minus second filter) and its model side (catalogue = instrumental + term): substituting
    both gives the formulas above unchanged, with the document's colours.

    Examples
    --------
    >>> d = np.array([0.5])
    >>> float(universal_colour(0.3, d * 0, d, d * 0)[0])  # 30 % of the way to the next filter
    0.15
    >>> float(universal_colour(1.0, d * 0, d, d * 0, smooth=True)[0])
    0.5
    """
    v = np.asarray(value, dtype=float)
    if not smooth:
        return np.where(v < 0, v * below, np.where(v <= 1, v * above, above + (v - 1) * beyond))
    s = np.sin(np.pi * v)
    w1, w2 = 0.5 * (1 - s), 0.5 * (1 + s)
    return np.where(
        v < -0.5,
        v * below,
        np.where(
            v < 0.5,
            w1 * v * below + w2 * v * above,
            np.where(
                v <= 1.5,
                above + w2 * (v - 1) * above + w1 * (v - 1) * beyond,
                above + (v - 1) * beyond,
            ),
        ),
    )


def rational(mag: np.ndarray, centre: float, offset: float, curvature: float) -> np.ndarray:
    """The column of the non-linearity term ``RS``: ``u / (1 + RC·u²)``, ``u = N0 + RO − N``.

    The term is ``RS · u / (1 + RC · u²)``: linear in the instrumental magnitude ``N`` near the
    centre ``N0 + RO`` (slope −RS), levelling off towards bright and faint stars when
    ``RC > 0`` — a saturation-like response that a polynomial in N (``PN``, ``P2N``) follows
    badly at the ends.

    Parameters
    ----------
    mag : numpy.ndarray
        Instrumental magnitudes ``N``.
    centre : float
        ``N0``, the median instrumental magnitude of the fitted stars (recorded in the fit).
    offset, curvature : float
        ``RO`` (mag) and ``RC`` (mag⁻²).

    Returns
    -------
    numpy.ndarray
        ``u / (1 + RC·u²)`` per row; multiply by ``RS`` for the term.

    Notes
    -----
    pyrt ``fotfit.model``: ``x = −(N + 10) − RO``, ``RS·x / (1 + RC·x²)`` (10 mag added to N
    "for numerical stability"). Here ``u`` is centred on the fitted stars instead, so ``RO = 0``
    is the middle of the data: ``RO_pyrt = −10 − N0 − RO`` and, from the model side,
    ``RS_pyrt = −RS``.

    Examples
    --------
    >>> rational(np.array([-10.0, -8.0]), -9.0, 0.0, 0.25).tolist()
    [0.8, -0.8]
    """
    u = centre + offset - np.asarray(mag, dtype=float)
    return u / (1.0 + curvature * u * u)
