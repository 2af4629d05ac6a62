"""The term language of photometric calibration fits (dophot3's ``-U``).

A specification such as ``'@.p2,&PC,#PA=0.12'`` is a comma-separated list of items. Each item
is zero or more *modifiers* followed by a *term* or a *macro*, optionally followed by ``=value``:

========  ==================================================================================
``@``     stepwise: the term is a candidate, kept only if statistically significant
``&``     always: the term is always fitted, never removed
``#``     fixed: the term is held at the value given with ``=value`` (required)
``*``     per image: one coefficient per image instead of one global coefficient
(none)    the default mode (``default=``, dophot3's ``--use-stepwise``); ``=value`` on a term
          that is not fixed is its initial value
========  ==================================================================================

A *polynomial term* is ``P`` followed by one or more variables, each optionally preceded by its
exponent (``P2XY`` is x²·y, ``PX2Y`` is x·y², ``PAC`` is airmass × colour C); an exponent 0
drops the variable and an exponent 1 may be written (``P0X1Y`` is ``PY``, ``P1X1Y`` is
``PXY``). An exponent after the last variable belongs to it (``PXY2`` is ``PX2Y``, as the
document's ``.p3`` list writes it). Variables:

=====  ===========================================================================
``X``  x position, normalised to [-1, 1] over the field (see `~xrbid.calibration.photometric`)
``Y``  y position, normalised with the same centre and scale
``R``  radius from the field centre, sqrt(X² + Y²) in the same normalised units
``A``  airmass (absolute)
``B``  airmass relative to its mean over the star's image
``C``  colour 1: second filter − first filter (dophot3's convention; the other sign is an
       option of the fit)
``D``  colour 2: third filter − second filter
``E``  colour 3: fourth filter − third filter
``F``  colour 4: fifth filter − fourth filter
``N``  instrumental magnitude (non-linearity; rarely a good idea)
=====  ===========================================================================

The *special terms* of dophot3, whose formulas are in docs/calibration-photometric.md:

=========  ===============================================================================
``SX``     sub-pixel response along x: sin(π · frac(x))
``SY``     sub-pixel response along y: sin(π · frac(y))
``SXY``    sub-pixel cross term: sin(π · frac(x)) · sin(π · frac(y))
``XC``     universal colour term, piecewise linear in the position of the instrument's
           band among the catalogue filters (its value is that position, not a coefficient)
``SC``     the same with smooth (sinusoidal) transitions between the filter intervals
``RS``     non-linearity: scale of the rational function RS · u / (1 + RC · u²)
``RO``     its offset (centre) in instrumental magnitude, u = N0 + RO − N
``RC``     its curvature
=========  ===============================================================================

A *macro* expands to several terms: ``.p1`` … ``.p4`` (all x/y monomials of total degree 1 … N;
``.p`` is ``.p1``), ``.r1`` … ``.r3`` (``PR`` … ``P3R``), ``.c1`` … ``.c3`` and ``.d1`` …
``.d3`` (powers of colour C or D; ``.e``, ``.f`` likewise), ``.a1``, ``.a2`` (powers of
airmass), ``.n1`` … ``.n3`` (powers of the instrumental magnitude), ``.l`` (``RC, RS, RO``) and
``.s`` (``SXY, SX, SY``). A macro without a degree (``.p``, ``.r``, ...) has degree 1.

Conflicting requests for the same term are resolved by the priority rules of dophot3, in order:

1. ``#`` (fixed) wins over everything;
2. ``*`` (per image) wins over global requests: the global ones are dropped;
3. explicit (``&`` or ``@``) wins over unmarked requests, which take the default mode;
4. ``&`` (always) wins over ``@`` (stepwise).
"""

from __future__ import annotations

import math
import re
from typing import Literal

from xrbid.errors import InputError

from . import term_plan
from .term_plan import (
    MAX_DEGREE,
    NONLINEAR,  # noqa: F401  (re-exported through term_plan.__all__)
    SPECIAL_TERMS,
    VARIABLES,
    Mode,
    ResolvedTerm,
    Term,
    TermPlan,
    TermRequest,
    TermSyntaxError,
)

__all__ = [
    *term_plan.__all__,
    "expand_macro",
    "parse_term",
    "parse_terms",
    "without_dependent_radial",
]


_MACRO_LIMITS = {"p": 4, "r": 3, "c": 3, "d": 3, "e": 3, "f": 3, "a": 2, "n": 3}
_FIXED_MACROS = {".l": ("RC", "RS", "RO"), ".s": ("SXY", "SX", "SY")}
_MODIFIERS = "@&#*"
_ORDER = {v: i for i, v in enumerate(VARIABLES)}
_MACRO_LIST = ", ".join(f".{k}1-.{k}{n}" for k, n in _MACRO_LIMITS.items()) + ", .l, .s"


_TERM_RE = re.compile(r"P((?:\d*[A-Z])+)(\d*)$")
_FACTOR_RE = re.compile(r"(\d*)([A-Z])")
_NUMBER_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_term(token: str, *, spec: str | None = None, position: int = 1) -> Term:
    """Parse one term name (``PX``, ``P2XY``, ``PAC``, ``SXY``, ``XC``) into a `Term`.

    Parameters
    ----------
    token : str
        The term, without modifiers or value.
    spec, position : str, int
        The whole specification and the token's 1-based position in it, for error messages.

    Returns
    -------
    Term

    Raises
    ------
    TermSyntaxError
        If the token is not a valid term.

    Examples
    --------
    >>> parse_term("PX2Y").powers
    (('X', 1), ('Y', 2))
    >>> parse_term("P2YX").name  # y²·x, variables put in canonical order
    'PX2Y'
    >>> parse_term("PXY2").name  # a trailing exponent belongs to the last variable
    'PX2Y'
    >>> parse_term("SXY").special
    'SXY'
    """
    spec = token if spec is None else spec
    known = "".join(VARIABLES)

    def fail(problem: str, hint: str = "") -> TermSyntaxError:
        return TermSyntaxError(problem, spec, position, token, hint)

    if token in SPECIAL_TERMS:
        return Term((), token)
    m = _TERM_RE.match(token)
    if not m:
        if not token.startswith("P"):
            raise fail(
                "unknown term",
                f"terms are P followed by variables ({known}), e.g. PX, P2R, PC, or one of "
                f"{', '.join(SPECIAL_TERMS)}; macros are {_MACRO_LIST}",
            )
        raise fail("unknown term", f"write P followed by variables from {known}, e.g. PX2Y")
    body, trailing = m.groups()
    factors = _FACTOR_RE.findall(body)
    if trailing:  # PXY2: the exponent belongs to the last variable
        if factors[-1][0]:
            raise fail(
                f"variable {factors[-1][1]} has two exponents",
                f"write its exponent once, before it: P{trailing}{factors[-1][1]}",
            )
        factors[-1] = (trailing, factors[-1][1])
    powers: dict[str, int] = {}
    for exp_text, var in factors:
        if var not in VARIABLES:
            raise fail(f"unknown variable {var!r}", f"known variables are {known}")
        exp = int(exp_text) if exp_text else 1
        if var in powers:
            raise fail(f"variable {var} appears twice", "write its power once, e.g. P2X")
        powers[var] = exp
    powers = {v: e for v, e in powers.items() if e > 0}  # P0X1Y is PY
    if not powers:
        raise fail("every exponent is 0", "the zero point is always fitted; write no term")
    term = Term(tuple(sorted(powers.items(), key=lambda p: _ORDER[p[0]])))
    if term.degree > MAX_DEGREE:
        raise fail(f"total degree {term.degree} exceeds the maximum {MAX_DEGREE}")
    return term


def expand_macro(name: str, *, spec: str | None = None, position: int = 1) -> list[Term]:
    """Expand a macro (``.p2``, ``.r2``, ``.c1``, ``.l``, ``.s``, ...) into its terms.

    ``.pN`` gives every monomial xⁱyʲ with 1 ≤ i + j ≤ N, by degree then by falling power of x:
    ``.p2`` → ``PX, PY, P2X, PXY, P2Y``. ``.rN`` gives ``PR`` … ``PNR``; ``.cN``, ``.dN``,
    ``.eN``, ``.fN``, ``.aN``, ``.nN`` the powers of a colour, the airmass or the instrumental
    magnitude. Without a degree (``.p``) the degree
    is 1. ``.l`` is ``RC, RS, RO`` (non-linearity) and ``.s`` is ``SXY, SX, SY`` (sub-pixel).

    Parameters
    ----------
    name : str
        The macro with its leading dot.
    spec, position : str, int
        The whole specification and the macro's 1-based position, for error messages.

    Returns
    -------
    list of Term

    Raises
    ------
    TermSyntaxError
        For an unknown macro or a degree out of range.

    Examples
    --------
    >>> [t.name for t in expand_macro(".p2")]
    ['PX', 'PY', 'P2X', 'PXY', 'P2Y']
    >>> [t.name for t in expand_macro(".r2")]
    ['PR', 'P2R']
    >>> [t.name for t in expand_macro(".l")]
    ['RC', 'RS', 'RO']
    """
    spec = name if spec is None else spec
    if name in _FIXED_MACROS:
        return [Term((), s) for s in _FIXED_MACROS[name]]
    m = re.fullmatch(r"\.([a-z])(\d*)", name)
    if not m or m.group(1) not in _MACRO_LIMITS:
        raise TermSyntaxError("unknown macro", spec, position, name, f"macros are {_MACRO_LIST}")
    kind, degree = m.group(1), int(m.group(2) or 1)
    if not 1 <= degree <= _MACRO_LIMITS[kind]:
        raise TermSyntaxError(
            f"degree {degree} is out of range",
            spec,
            position,
            name,
            f".{kind} goes from 1 to {_MACRO_LIMITS[kind]}",
        )
    if kind == "p":
        terms = []
        for total in range(1, degree + 1):
            for i in range(total, -1, -1):
                powers = tuple((v, e) for v, e in (("X", i), ("Y", total - i)) if e)
                terms.append(Term(powers))
        return terms
    var = kind.upper()
    return [Term(((var, e),)) for e in range(1, degree + 1)]


def _split_items(spec: str) -> list[tuple[str, int]]:
    """Split on commas; return (stripped item, 1-based position of its first character)."""
    items = []
    start = 0
    for part in spec.split(","):
        stripped = part.strip()
        offset = len(part) - len(part.lstrip())
        items.append((stripped, start + offset + 1))
        start += len(part) + 1
    return items


def _parse_item(item: str, position: int, spec: str) -> list[TermRequest]:
    if not item:
        raise TermSyntaxError("empty item", spec, position, ",", "remove the extra comma")
    mods = ""
    i = 0
    while i < len(item) and item[i] in _MODIFIERS:
        if item[i] in mods:
            raise TermSyntaxError(
                f"modifier {item[i]} is repeated", spec, position + i, item[i], "write it once"
            )
        mods += item[i]
        i += 1
    body = item[i:]
    body_pos = position + i
    if not body or body.startswith("="):
        raise TermSyntaxError(
            f"modifier {mods[-1]} is not followed by a term",
            spec,
            position + i - 1,
            mods[-1],
            "write a term or macro after it, e.g. @.p2 or &PC",
        )
    name, eq, value_text = body.partition("=")
    name = name.strip()
    if not name:
        raise TermSyntaxError("missing term before '='", spec, body_pos, body)
    bad = next((c for c in name if c in _MODIFIERS), None)
    if bad:
        raise TermSyntaxError(
            f"modifier {bad} must come before the term",
            spec,
            body_pos + name.index(bad),
            bad,
            f"write {bad}{name.replace(bad, '')}",
        )
    value = None
    if eq:
        value_text = value_text.strip()
        value_pos = position + item.index("=") + 1
        if not _NUMBER_RE.match(value_text):
            raise TermSyntaxError(
                f"value {value_text!r} is not a number",
                spec,
                value_pos if value_text else value_pos - 1,
                value_text or "=",
                f"write e.g. #{name}=0.12",
            )
        value = float(value_text)
        if not math.isfinite(value):  # 1e400 reads as inf: every magnitude would become NaN
            raise TermSyntaxError(
                f"value {value_text!r} is too large for a number",
                spec,
                value_pos,
                value_text,
                f"write e.g. #{name}=0.12",
            )
    fixed = "#" in mods
    if fixed and value is None:
        raise TermSyntaxError(
            "a fixed term (#) needs a value", spec, position, item, f"write e.g. #{name}=0.1"
        )
    if name.startswith("."):
        terms = expand_macro(name, spec=spec, position=body_pos)
    else:
        terms = [parse_term(name, spec=spec, position=body_pos)]
    return [
        TermRequest(
            term=t,
            fixed=fixed,
            always="&" in mods,
            stepwise="@" in mods,
            per_image="*" in mods,
            value=value,
            position=position,
            source=item,
        )
        for t in terms
    ]


def _resolve(
    term: Term, requests: list[TermRequest], default: Mode, spec: str
) -> tuple[ResolvedTerm, list[str]]:
    """Apply the four priority rules to the requests for one term."""
    notes: list[str] = []
    name = term.name

    def others(kept: list[TermRequest]) -> str:
        return ", ".join(r.describe() for r in requests if r not in kept)

    fixed = [r for r in requests if r.fixed]
    if fixed:  # rule 1: '#' beats everything
        values = {r.value for r in fixed}
        if len(values) > 1:
            first, second = fixed[0], next(r for r in fixed if r.value != fixed[0].value)
            raise TermSyntaxError(
                f"{name} is fixed at two values ({first.value:g} and {second.value:g})",
                spec,
                second.position,
                second.source,
                "keep one #-value",
            )
        if len(requests) > len(fixed):
            notes.append(f"{name}: fixed wins (rule 1); ignored {others(fixed)}")
        return ResolvedTerm(term, "fixed", False, fixed[0].value), notes

    pool = requests
    per_image = [r for r in pool if r.per_image]
    if per_image and len(per_image) < len(pool):  # rule 2: '*' beats global
        notes.append(f"{name}: per-image wins over global (rule 2); ignored {others(per_image)}")
        pool = per_image
    explicit = [r for r in pool if r.explicit]
    if explicit and len(explicit) < len(pool):  # rule 3: explicit beats default
        dropped = [r for r in pool if not r.explicit]
        notes.append(
            f"{name}: explicit wins over unmarked (rule 3); ignored "
            + ", ".join(r.describe() for r in dropped)
        )
        pool = explicit
    if any(r.always for r in pool):  # rule 4: '&' beats '@'
        if any(r.stepwise and not r.always for r in pool):
            dropped = [r for r in pool if r.stepwise and not r.always]
            notes.append(
                f"{name}: always wins over stepwise (rule 4); ignored "
                + ", ".join(r.describe() for r in dropped)
            )
        mode: Mode = "always"
    elif any(r.stepwise for r in pool):
        mode = "stepwise"
    else:
        mode = default
    values = [r.value for r in pool if r.value is not None]
    return ResolvedTerm(term, mode, bool(per_image), values[-1] if values else None), notes


def parse_terms(
    spec: str,
    *,
    default: Literal["stepwise", "always"] = "stepwise",
    per_image_pointing: bool = False,
) -> TermPlan:
    """Parse a term specification and resolve conflicting requests.

    Parameters
    ----------
    spec : str
        Comma-separated items, e.g. ``'@.p2,&PC,#PA=0.12'``. May be empty (zero point only).
    default : {"stepwise", "always"}
        Mode of terms written without ``@``, ``&`` or ``#`` (dophot3's ``--use-stepwise``).
    per_image_pointing : bool
        Add ``&*.p`` (per-image ``PX`` and ``PY``, always fitted) before the specification, as
        dophot3's ``-y`` does.

    Returns
    -------
    TermPlan

    Raises
    ------
    TermSyntaxError
        For an unknown term or macro, a bad value, a dangling or repeated modifier, an empty
        item, one term fixed at two different values, or ``RO``/``RC`` without ``RS`` (they
        shape the ``RS`` term and mean nothing alone). The message names the token and its
        1-based position in ``spec``.

    Examples
    --------
    >>> plan = parse_terms("@.p2,&PC,#PA=0.12")
    >>> plan.describe()
    '@PX,@PY,@P2X,@PXY,@P2Y,&PC,#PA=0.12'
    >>> parse_terms("&*PX,@PX").describe()
    '&*PX'
    """
    if default not in ("stepwise", "always"):
        raise InputError(f"default mode must be 'stepwise' or 'always', not {default!r}")
    requests: list[TermRequest] = []
    if per_image_pointing:
        requests += [
            TermRequest(t, always=True, per_image=True, source="-y") for t in expand_macro(".p")
        ]
    if spec.strip():
        for item, position in _split_items(spec):
            requests += _parse_item(item, position, spec)
    grouped: dict[Term, list[TermRequest]] = {}
    for r in requests:
        grouped.setdefault(r.term, []).append(r)
    plan = TermPlan(spec)
    for term, reqs in grouped.items():
        resolved, notes = _resolve(term, reqs, default, spec)
        plan.terms.append(resolved)
        plan.notes.extend(notes)
    _check_rational(plan, grouped, spec)
    return plan


def _check_rational(plan: TermPlan, grouped: dict[Term, list[TermRequest]], spec: str) -> None:
    """RO and RC shape the RS term; without a fitted or non-zero RS they cannot be fitted."""
    rs = plan["RS"] if "RS" in plan else None
    if rs is not None and not (rs.mode == "fixed" and rs.value == 0):
        return
    for name in ("RO", "RC"):
        if name in plan and plan[name].mode != "fixed":
            first = grouped[Term((), name)][0]
            raise TermSyntaxError(
                f"{name} shapes the non-linearity term RS * u / (1 + RC * u^2) and has no "
                "effect without RS",
                spec,
                first.position,
                first.source,
                "add RS, or write .l for all three",
            )


def without_dependent_radial(plan: TermPlan) -> TermPlan:
    """Leave out even radial powers that the always-fitted x/y monomials already contain.

    ``R² = X² + Y²``, so ``P2R`` is the sum of ``P2X`` and ``P2Y``, and ``P4R`` is
    ``P4X + 2·P2X2Y + P4Y``. When every monomial of such an expansion is fitted always (with
    the same per-image setting as the radial term), the radial term adds nothing to the model
    but makes the fit singular: it is left out, with a note. A request such as ``&.p2,&.r2``
    (the term document's ``-y -U '&.p2,&.r2,&PC,@.p3'``) then fits ``PR, PX, PY, P2X, PXY,
    P2Y``, the same model as the one asked for. Stepwise terms need no rule: the selection
    never adds a candidate that the model already contains.

    Parameters
    ----------
    plan : TermPlan
        A resolved plan. Not modified.

    Returns
    -------
    TermPlan
        The plan without the dependent radial terms (the same object when there are none).

    Examples
    --------
    >>> plan = without_dependent_radial(parse_terms("&.p2,&.r2"))
    >>> plan.names
    ['PX', 'PY', 'P2X', 'PXY', 'P2Y', 'PR']
    >>> plan.notes[-1]
    'P2R: equals P2X + P2Y, which are fitted always; left out (R^2 = X^2 + Y^2)'
    """
    from math import comb

    always = {(t.name, t.per_image) for t in plan.terms if t.mode == "always"}
    dropped: list[str] = []
    notes: list[str] = []
    for t in plan.terms:
        if t.mode != "always" or t.term.special or len(t.term.powers) != 1:
            continue
        var, exp = t.term.powers[0]
        if var != "R" or exp % 2:
            continue
        k = exp // 2
        parts = []
        for j in range(k + 1):  # (X^2 + Y^2)^k = sum over j of C(k, j) X^(2k-2j) Y^(2j)
            powers = tuple((v, e) for v, e in (("X", 2 * (k - j)), ("Y", 2 * j)) if e)
            parts.append((comb(k, j), Term(powers)))
        if all((m.name, t.per_image) in always for _, m in parts):
            dropped.append(t.name)
            total = " + ".join(f"{c}*{m.name}" if c > 1 else m.name for c, m in parts)
            notes.append(
                f"{t.name}: equals {total}, which are fitted always; left out (R^2 = X^2 + Y^2)"
            )
    if not dropped:
        return plan
    return TermPlan(
        plan.spec,
        [t for t in plan.terms if t.name not in dropped],
        [*plan.notes, *notes],
    )
