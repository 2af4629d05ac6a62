"""``report.html``: one self-contained page per galaxy (images embedded, tables sortable).

The page holds the run summary (counts per step, the alignment shift and scatter with its
significance, the radius methods), the alignment plot, the tables of best observations and
candidates, the CMD and finder charts where images exist, and the provenance (configuration,
input hashes, versions). It needs nothing but a browser: no network, no files beside it.
"""

from __future__ import annotations

import base64
import html
import platform
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._io import write_text_atomic
from .._version import __version__
from .step import Context, Step

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["REPORT", "write_report"]

BEST_COLUMNS = [
    "source_id", "ra", "dec", "theta", "counts", "pu_1sigma", "pu_2sigma", "pu_method", "n_obs",
]  # fmt: skip
CLASS_COLUMNS = [
    "source_id", "xrb_class", "n_candidates", "p_any", "best_candidate", "best_p_i", "n_low",
    "n_intermediate", "n_high",
]  # fmt: skip
CANDIDATE_COLUMNS = [
    "source_id", "rank", "ra", "dec", "separation", "separation_sigma", "inside_1sigma",
    "n_candidates", "p_chance", "p_i", "mass", "mass_class",
]  # fmt: skip
PACKAGES = ["numpy", "pandas", "scipy", "astropy", "photutils", "regions", "matplotlib", "pydantic"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:70em;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}
th{background:#f3f3f3;position:sticky;top:0}
table.sortable th{cursor:pointer} table.sortable th:after{content:" \\2195";color:#aaa}
td.t,th.t{text-align:left} .scroll{max-height:28em;overflow:auto;display:inline-block}
.ok{color:#1a7f37} .warn{color:#b35900} figure{display:inline-block;margin:.5em}
img{max-width:100%;border:1px solid #ddd} pre{background:#f7f7f7;padding:.8em;overflow:auto}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var body=t.tBodies[0], rows=Array.from(body.rows), asc=th.dataset.dir!=='asc';
      rows.sort(function(a,b){
        var x=a.cells[i].dataset.v??a.cells[i].textContent,
            y=b.cells[i].dataset.v??b.cells[i].textContent;
        var nx=parseFloat(x), ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return asc?c:-c;});
      rows.forEach(function(r){body.appendChild(r);});
      t.querySelectorAll('th').forEach(function(h){delete h.dataset.dir;});
      th.dataset.dir=asc?'asc':'desc';});});});
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return _e(value)
    if f != f:
        return "–"
    return f"{f:.{digits}f}".rstrip("0").rstrip(".") if abs(f) < 1e6 else f"{f:.4g}"


# sky positions to 1e-6 deg (3.6 mas), every row the same width: candidates of one X-ray
# source lie within an arcsec of each other, which 4 decimals (0.36") cannot tell apart
COORD_DIGITS = {"ra": 6, "dec": 6}


def _coord(value: Any, digits: int) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return _e(value)
    return "–" if f != f else f"{f:.{digits}f}"


def _image(path: Path, alt: str, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _kv_table(rows: Sequence[tuple[str, Any]]) -> str:
    body = "".join(f'<tr><th class="t">{_e(k)}</th><td class="t">{v}</td></tr>' for k, v in rows)
    return f"<table>{body}</table>"


def _frame_table(df: pd.DataFrame, columns: Sequence[str], table_id: str) -> str:
    cols = [c for c in columns if c in df.columns]
    extra = [c for c in df.columns if c.endswith("_mag") and c not in cols]
    cols += extra
    head = "".join(f'<th class="{"t" if c == "source_id" else ""}">{_e(c)}</th>' for c in cols)
    cells = []
    for c in cols:
        values = df[c].to_numpy()
        if values.dtype.kind == "f" and c in COORD_DIGITS:
            digits = COORD_DIGITS[c]
            cells.append([f'<td data-v="{v!r}">{_coord(v, digits)}</td>' for v in values.tolist()])
        elif values.dtype.kind == "f":
            cells.append([f'<td data-v="{v!r}">{_num(v)}</td>' for v in values.tolist()])
        elif values.dtype.kind in "iub":
            cells.append([f"<td>{_e(v)}</td>" for v in values.tolist()])
        else:
            cells.append([f'<td class="t">{_e(v)}</td>' for v in values.tolist()])
    rows = "".join(f"<tr>{''.join(r)}</tr>" for r in zip(*cells)) if cells else ""
    return (
        f'<div class="scroll"><table class="sortable" id="{table_id}"><thead><tr>{head}</tr>'
        f"</thead><tbody>{rows}</tbody></table></div>"
    )


def _table_section(
    title: str, text: str, df: pd.DataFrame, columns: Sequence[str], table_id: str
) -> str:
    """A heading, a sentence about the table (may be empty) and the sortable table."""
    about = f"<p>{_e(text)}</p>" if text else ""
    return f"<h2>{_e(title)}</h2>\n{about}\n{_frame_table(df, columns, table_id)}"


def _versions() -> list[tuple[str, str]]:
    out = [("xrbid", __version__), ("python", platform.python_version())]
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            pass
    return out


def _summary_rows(ctx: Context) -> list[tuple[str, str]]:
    s = ctx.summaries
    rows = []
    if "xray" in s:
        rows.append(("X-ray table", f"{s['xray']['rows']} rows, {s['xray']['sources']} sources"))
    if "calibrators" in s:
        c = s["calibrators"]
        rows.append(("calibrators", f"{c['calibrators']} ({_e(c.get('how', ''))})"))
    if "optical" in s:
        o = s["optical"]
        rows.append(("optical sources", f"{o['sources']} ({_e(o.get('from', ''))})"))
    if "align" in s:
        a = s["align"]
        rows.append(("alignment pairs used", f"{a['n_used']} of {a['n_calibrators']}"))
    if "radii" in s:
        rows.append(("observations with radii", str(s["radii"]["rows"])))
    if "best" in s:
        b = s["best"]
        med = b.get("median_pu_2sigma")
        med_text = f', median 2σ radius {_num(med, 3)}"' if med is not None else ""
        rows.append(("best observations", f"{b['sources']} sources{med_text}"))
    if "counterparts" in s:
        c = s["counterparts"]
        rows.append(
            (
                "counterpart candidates",
                f"{c['candidates']} for {c['sources_with_candidates']} of {c['xray_sources']} "
                f"sources ({c.get('inside_1sigma')} inside 1σ)",
            )
        )
    if "classify" in s:
        c = s["classify"]
        classes = ", ".join(f"{k} {v}" for k, v in c.get("xrb_classes", {}).items())
        rows.append(("classification", f"{_e(', '.join(c.get('parts', [])))}: {classes}"))
    if "photometry" in s:
        p = s["photometry"]
        measured = ", ".join(f"{k} {v}" for k, v in p.get("measured", {}).items())
        rows.append(("photometry", f"{p['rows']} rows measured; finite magnitudes: {measured}"))
    return rows


def _alignment_section(ctx: Context) -> str:
    a = ctx.summaries.get("align")
    if not a:
        return ""
    sig = (
        '<span class="warn">significant: the X-ray positions were shifted</span>'
        if a["applied"]
        else (
            '<span class="warn">significant, but not applied ([alignment].apply)</span>'
            if a["significant"]
            else '<span class="ok">not significant (|shift| ≤ scatter on both axes): '
            "not applied</span>"
        )
    )
    rows = [
        ("method", _e(a["method"])),
        ("shift Δξ, Δη (optical − X-ray)", f'{_num(a["shift_x"])}", {_num(a["shift_y"])}"'),
        ("scatter σx, σy", f'{_num(a["std_x"])}", {_num(a["std_y"])}"'),
        ("significance", sig),
        ("pairs used", f"{a['n_used']} of {a['n_calibrators']} calibrators{_left_out(a)}"),
        ("QA flags", _e(", ".join(a["flags"]) or "none")),
    ]
    radii = ctx.summaries.get("radii", {})
    if radii:
        rows.append(("σ_astro = √(σx² + σy²)", f'{_num(radii["sigma_astro"])}"'))
        methods = ", ".join(f"{_e(k)} {v}" for k, v in radii.get("methods", {}).items())
        rows.append(("radius methods (rows)", methods))
    out = ["<h2>Alignment and radii</h2>", _kv_table(rows)]
    png = ctx.existing("alignment.png")
    if png.exists():
        out.append(_image(png, "alignment offsets", "calibrator offsets, shift and 1σ ellipse"))
    return "\n".join(out)


# why a calibrator was not used (the align step's summary "left_out": reason -> count)
_LEFT_OUT = {
    "off_axis": "off-axis (θ ≥ 10′, or no θ in the row)",
    "saturated": "saturated",
    "convex_hull": "convex-hull sources",
    "likelihood": "likelihood class not TRUE/MARGINAL",
    "unmatched": "no optical source within [alignment].max_sep",
}


def _left_out(a: dict) -> str:
    """``; left out: 4 off-axis (...), ...`` for the calibrators not used, or ``""``."""
    left = a.get("left_out") or {}
    if not left:
        return ""
    parts = [f"{n} {_e(_LEFT_OUT.get(k, k))}" for k, n in left.items()]
    return "; left out: " + ", ".join(parts)


def _figures_section(ctx: Context) -> str:
    parts = []
    cmd = ctx.existing("cmd.png")
    if cmd.exists():
        parts.append("<h2>Colour–magnitude diagram</h2>")
        parts.append(
            _image(cmd, "colour-magnitude diagram", "candidates' colour–magnitude diagram")
        )
    finders = [ctx.existing(name) for name in ctx.summaries.get("finders", {}).get("files", [])]
    if finders:
        parts.append("<h2>Finder charts</h2>")
        parts.append(
            "<p>Each X-ray source with candidates: 2σ (solid) and 1σ (dashed) circles, the "
            "candidates numbered by rank.</p>"
        )
        parts += [_image(p, p.stem, p.stem.removeprefix("finder_")) for p in finders]
    return "\n".join(parts)


def _provenance(ctx: Context) -> str:
    from .state import read_manifest

    rows = []
    steps = []
    for name, summary in ctx.summaries.items():
        m = read_manifest(ctx.folder, name)
        when = "this run" if name in ctx.ran else f"earlier run, up to date ({m['finished']})"
        steps.append((name, when))
        for w in summary.get("warnings", []):
            rows.append((name, w))
    cfg_text = ctx.cfg.path.read_text(encoding="utf-8") if ctx.cfg.path else ""
    inputs = []
    for name, step_inputs in _input_hashes(ctx).items():
        for label, digest in step_inputs.items():
            inputs.append(
                f"<tr><td class='t'>{_e(name)}</td><td class='t'>{_e(label)}</td>"
                f"<td class='t'><code>{_e(digest[:16])}…</code></td></tr>"
            )
    warn_html = "<h3>Warnings</h3>" + _kv_table([(k, _e(v)) for k, v in rows]) if rows else ""
    return "\n".join(
        [
            "<h2>Provenance</h2>",
            f"<p>Report written {time.strftime('%Y-%m-%d %H:%M:%S %Z')} from "
            f"<code>{_e(ctx.cfg.path)}</code>.</p>",
            "<h3>Steps</h3>",
            _kv_table([(k, _e(v)) for k, v in steps]),
            warn_html,
            "<h3>Input hashes (SHA-256)</h3>",
            f"<table><tr><th class='t'>step</th><th class='t'>input</th><th class='t'>hash</th>"
            f"</tr>{''.join(inputs)}</table>",
            "<h3>Versions</h3>",
            _kv_table([(k, _e(v)) for k, v in _versions()]),
            "<h3>Configuration</h3>",
            f"<pre>{_e(cfg_text)}</pre>",
        ]
    )


def _input_hashes(ctx: Context) -> dict[str, dict[str, str]]:
    return {k: v for k, v in ctx.inputs.items() if not k == "report"}


def _candidates(ctx: Context) -> pd.DataFrame:
    """The richest candidates table of the run: classified, measured, or as found."""
    if "classify" in ctx.summaries:
        res = ctx.data.get("classify")
        if res is not None and hasattr(res, "candidates"):
            return res.candidates
        from ..tables import read_table

        return read_table(ctx.existing("classified_candidates.ecsv"))
    return ctx.get("photometry") if "photometry" in ctx.summaries else ctx.get("counterparts")


def write_report(ctx: Context, path: Path) -> Path:
    """Write the galaxy's ``report.html`` (self-contained) to ``path``; return it."""
    cfg = ctx.cfg
    g = cfg.galaxy
    facts = [
        ("galaxy", _e(g.name)),
        ("centre", f"{_num(g.ra, 5)}, {_num(g.dec, 5)} deg" if g.ra is not None else "–"),
        ("distance", f"{_num(g.distance_mpc)} Mpc" if g.distance_mpc else "–"),
        ("foreground E(B−V)", _num(g.ebv) if g.ebv is not None else "–"),
    ]
    body = [
        f"<h1>{_e(g.name)}: xrbid run</h1>",
        _kv_table(facts),
        "<h2>Summary</h2>",
        _kv_table(_summary_rows(ctx)),
        _alignment_section(ctx),
        _figures_section(ctx),
    ]
    if "best" in ctx.summaries:
        best = ctx.get("best")
        body.append(
            _table_section(
                f"Best observations ({len(best)} sources)",
                "One row per X-ray source: the observation with the smallest usable 2σ "
                "radius. Click a column to sort.",
                best,
                BEST_COLUMNS,
                "best",
            )
        )
    if "counterparts" in ctx.summaries:
        cands = _candidates(ctx)
        body.append(
            _table_section(
                f"Counterpart candidates ({len(cands)})",
                "Optical sources inside each X-ray source's search radius, nearest first "
                "(separation in arcsec and in units of the 1σ radius).",
                cands,
                CANDIDATE_COLUMNS,
                "candidates",
            )
        )
    elif "photometry" in ctx.summaries:
        phot = ctx.get("photometry")
        body.append(
            _table_section(
                f"Photometry ({len(phot)} sources)", "", phot, ["ra", "dec"], "photometry"
            )
        )
    if "classify" in ctx.summaries:
        classes = ctx.get("classify")
        classes = getattr(classes, "sources", classes)
        body.append(
            _table_section(
                f"Classification ({len(classes)} sources)",
                "p_any: probability that the source has a counterpart among its candidates; "
                "xrb_class from the donor-mass classes of its candidates.",
                classes,
                CLASS_COLUMNS,
                "classes",
            )
        )
    body.append(_provenance(ctx))
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(g.name)} – xrbid report</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(b for b in body if b)
        + f"\n<script>{_SORT_JS}</script>\n</body></html>\n"
    )
    return write_text_atomic(path, page, overwrite=True)


def _report_work(ctx: Context) -> dict[str, Any]:
    write_report(ctx, ctx.out("report.html"))
    return {}


REPORT = Step(
    "report",
    "report",
    (),  # every step before it (see run.py)
    _report_work,
    lambda cfg: ["report.html"],
    params=lambda cfg: {"figures": list(cfg.outputs.figures)},
)
