"""Tests of xrbid.align: median and WLS alignment, the solution file, applying a shift.

Expected numbers come from hand calculations (written out in the tests), from the
construction of seeded synthetic fields (the injected shift), and from the real Chandra
astromon pairs in ``testdata/chandra-astromon`` (offsets recorded by astromon).
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from xrbid.align import (
    AlignmentSolution,
    align_median,
    align_wls,
    align_wls_stacks,
    apply_shift,
    read_solution,
    read_solution_data,
)
from xrbid.errors import ColumnError, InputError, OutputExistsError
from xrbid.regions import read_regions
from xrbid.sky import from_tangent_plane, separation_arcsec, tangent_plane
from xrbid.tables import read_table
from xrbid.uncertainty import sigma_astro_of

ARCSEC = 1 / 3600.0


def _offset(ra, dec, east, north):
    """Positions moved by (east, north) arcsec, the way an observer writes it by hand:
    ΔRA = east / cos(dec), ΔDec = north."""
    ra, dec = np.asarray(ra, float), np.asarray(dec, float)
    return ra + np.asarray(east) * ARCSEC / np.cos(np.radians(dec)), dec + np.asarray(
        north
    ) * ARCSEC


# ---------------------------------------------------------------------------------------
# Median method: hand-computed examples


def _three_pairs(dec=60.0):
    # Three calibrators 20" apart near Dec 60; optical counterparts offset by
    # east = (0.3, -0.1, 0.5)", north = (0.2, 0.2, -0.4)".
    ra = np.array([150.0, 150.0 + 20 * ARCSEC / np.cos(np.radians(dec)), 150.0])
    decs = np.array([dec, dec, dec + 20 * ARCSEC])
    xray = pd.DataFrame({"source_id": ["A", "B", "C"], "ra": ra, "dec": decs})
    ora, odec = _offset(ra, decs, [0.3, -0.1, 0.5], [0.2, 0.2, -0.4])
    optical = pd.DataFrame({"source_id": ["a", "b", "c"], "ra": ora, "dec": odec})
    return xray, optical


def test_median_three_pairs_by_hand():
    xray, optical = _three_pairs()
    sol = align_median(xray, optical, max_sep="2arcsec")
    # median(0.3, -0.1, 0.5) = 0.3; median(0.2, 0.2, -0.4) = 0.2
    # x: mean 0.2333..., deviations (0.0667, -0.3333, 0.2667): population variance
    #    (0.004444 + 0.111111 + 0.071111) / 3 = 0.186667 / 3 = 0.062222 -> std 0.249444
    # y: mean 0, variance (0.04 + 0.04 + 0.16) / 3 = 0.08 -> std 0.282843
    assert sol.shift_x == pytest.approx(0.3, abs=1e-4)
    assert sol.shift_y == pytest.approx(0.2, abs=1e-4)
    assert sol.std_x == pytest.approx(math.sqrt(0.56 / 9), abs=1e-4)  # 0.249444
    assert sol.std_y == pytest.approx(math.sqrt(0.08), abs=1e-4)  # 0.282843
    assert sol.n_used == 3
    assert sol.significant  # |0.3| > 0.2494 on x
    assert sol.unmatched == []
    assert sol.flags == {"no_matches": False, "few_matches": False}
    assert sol.pairs["xray_id"].tolist() == ["A", "B", "C"]
    assert sol.pairs["ref_id"].tolist() == ["a", "b", "c"]
    assert sol.sigma_astro == (sol.std_x, sol.std_y)


def test_median_uses_population_std_and_cos_dec():
    xray, optical = _three_pairs(dec=60.0)
    sol = align_median(xray, optical)
    # ddof=1 would give sqrt(0.186667 / 2) = 0.3055
    assert sol.std_x != pytest.approx(math.sqrt(0.56 / 6), abs=1e-3)
    # A raw RA difference at Dec 60 would read 0.3 / cos(60) = 0.6" for the median.
    raw = np.median((optical["ra"] - xray["ra"]) * 3600)
    assert raw == pytest.approx(0.6, abs=1e-3)
    assert sol.shift_x == pytest.approx(0.3, abs=1e-4)


def test_median_not_significant_when_scatter_dominates():
    xray, _ = _three_pairs(dec=-30.0)
    ora, odec = _offset(xray["ra"], xray["dec"], [0.1, -0.3, 0.4], [0.0, 0.3, -0.3])
    sol = align_median(xray, pd.DataFrame({"ra": ora, "dec": odec}))
    # x: median 0.1, std of (0.1, -0.3, 0.4) = sqrt(((0.0667)^2+(0.3667)^2+(0.3333)^2)/3)
    #    = sqrt(0.24667 / 3) = 0.28674 ; y: median 0, std sqrt(0.18 / 3) = 0.24495
    assert sol.shift_x == pytest.approx(0.1, abs=1e-4)
    assert sol.std_x == pytest.approx(math.sqrt(0.74 / 9), abs=1e-4)
    assert sol.shift_y == pytest.approx(0.0, abs=1e-4)
    assert sol.std_y == pytest.approx(math.sqrt(0.06), abs=1e-4)
    assert not sol.significant


def test_median_max_sep_units_and_unmatched():
    xray, optical = _three_pairs()
    # Move C's counterpart 1.5" away: within 2", not within 1".
    optical.loc[2, ["ra", "dec"]] = _offset(xray["ra"][2], xray["dec"][2], 0.0, 1.5)
    for max_sep in (1.0, "1arcsec", 1 * u.arcsec, '1"', "0.0166667arcmin"):
        sol = align_median(xray, optical, max_sep=max_sep)
        assert sol.n_used == 2
        assert sol.unmatched == ["C"]
        assert sol.flags["few_matches"] and not sol.flags["no_matches"]
    sol = align_median(xray, optical, max_sep=2)
    assert sol.n_used == 3 and sol.unmatched == []


def test_median_with_nothing_matched_is_an_error_naming_the_nearest_pair():
    xray, optical = _three_pairs()
    # another field: nothing within max_sep, the message names the two centres
    far = pd.DataFrame({"ra": [10.0], "dec": [10.0]})
    with pytest.raises(InputError, match=r"do not cover the same field: .* arcmin apart"):
        align_median(xray.drop(columns="source_id"), far)
    # the same field, a little too far: the nearest pair and its rows, and the option to raise
    moved = optical.copy()
    moved["dec"] = moved["dec"] + 3.0 * ARCSEC  # 3" north of the counterparts above
    # nearest: calibrator C, whose counterpart lies 0.5" east and 0.4" south: 2.6" north,
    # 0.5" east of it -> hypot(0.5, 2.6) = 2.648" (hand calculation; flat sky at this scale)
    with pytest.raises(InputError, match=r"nearest pair is 2\.65 arcsec apart \(calibrator row 2"):
        align_median(xray, moved, max_sep=1.0)
    with pytest.raises(InputError, match="raise --max-sep"):
        align_median(xray, moved, max_sep=1.0)


def test_median_clipping_by_hand():
    rng = np.random.default_rng(5)
    n = 10
    ra = 210.8 + np.arange(n) * 30 * ARCSEC
    dec = np.full(n, 54.35)
    east = np.array([0.10, 0.12, 0.08, 0.11, 0.09, 0.10, 0.13, 0.07, 0.10, 1.60])
    north = np.array([-0.05, -0.04, -0.06, -0.05, -0.03, -0.07, -0.05, -0.05, -0.04, 0.0])
    ora, odec = _offset(ra, dec, east, north)
    xray = pd.DataFrame({"ra": ra, "dec": dec})
    optical = pd.DataFrame({"ra": ora, "dec": odec}).sample(frac=1, random_state=rng)
    plain = align_median(xray, optical)
    clipped = align_median(xray, optical, clip=3)
    assert plain.n_used == 10
    # First pass on x: median 0.10, mean 0.25, squared deviations sum 2.0278 -> population
    # std sqrt(0.20278) = 0.4503; |1.60 - 0.10| = 1.5 > 3 * 0.4503 = 1.351 -> rejected.
    # On y (median -0.05, std 0.018) the last pair's |0.0 + 0.05| = 0.05 < 0.054 -> kept.
    # Second pass: nothing more is rejected.
    assert clipped.n_used == 9
    assert clipped.pairs["used"].tolist()[:9] == [True] * 9
    assert not clipped.pairs["used"].iloc[9]
    # remaining x offsets sorted: 0.07 0.08 0.09 0.10 0.10 0.10 0.11 0.12 0.13 -> median 0.10
    assert clipped.shift_x == pytest.approx(0.10, abs=1e-4)
    # y: -0.07 -0.06 -0.05 -0.05 -0.05 -0.05 -0.04 -0.04 -0.03 -> median -0.05
    assert clipped.shift_y == pytest.approx(-0.05, abs=1e-4)
    # population std of the nine x offsets: mean 0.10, deviations 0, .02, -.02, .01, -.01,
    # 0, .03, -.03, 0 -> squares sum 0.0028 -> sqrt(0.0028 / 9) = 0.017638
    assert clipped.std_x == pytest.approx(math.sqrt(0.0028 / 9), abs=1e-4)
    assert any("clipping" in n for n in clipped.notes)


def test_median_across_ra_wrap_and_near_pole():
    for ra0, dec0 in ((359.9995, 1.0), (0.0, 89.99)):
        rng = np.random.default_rng(7)
        c = SkyCoord(ra0 * u.deg, dec0 * u.deg).directional_offset_by(
            rng.uniform(0, 360, 8) * u.deg, rng.uniform(5, 30, 8) * u.arcsec
        )
        # Counterparts 0.25" east and 0.15" south of every calibrator, made with astropy.
        opt = c.directional_offset_by(90 * u.deg, 0.25 * u.arcsec).directional_offset_by(
            180 * u.deg, 0.15 * u.arcsec
        )
        sol = align_median(
            pd.DataFrame({"ra": c.ra.deg, "dec": c.dec.deg}),
            pd.DataFrame({"ra": opt.ra.deg, "dec": opt.dec.deg}),
        )
        # Near the pole "east" at each calibrator is a different direction on the plane, so
        # only the length of the offset is common to all pairs there.
        lengths = np.hypot(sol.pairs["dx"], sol.pairs["dy"])
        np.testing.assert_allclose(lengths, math.hypot(0.25, 0.15), atol=2e-3)
        if dec0 < 10:
            assert sol.shift_x == pytest.approx(0.25, abs=1e-3)
            assert sol.shift_y == pytest.approx(-0.15, abs=1e-3)


def test_median_optical_from_region_file(tmp_path):
    xray, optical = _three_pairs()
    lines = ["# Region file format: DS9 version 4.1", "fk5"]
    lines += [f'circle({r:.9f},{d:.9f},0.5")' for r, d in zip(optical["ra"], optical["dec"])]
    reg = tmp_path / "opt.reg"
    reg.write_text("\n".join(lines) + "\n")
    sol = align_median(xray, reg)
    assert sol.shift_x == pytest.approx(0.3, abs=1e-4)
    assert sol.shift_y == pytest.approx(0.2, abs=1e-4)


def test_median_bad_input(tmp_path):
    xray, optical = _three_pairs()
    with pytest.raises(ColumnError, match="no sky coordinates"):
        align_median(xray, optical.rename(columns={"ra": "x", "dec": "y"}))
    with pytest.raises(InputError, match="empty"):
        align_median(xray.iloc[:0], optical)
    with pytest.raises(InputError, match="max_sep must be positive"):
        align_median(xray, optical, max_sep=0)
    with pytest.raises(InputError, match="clip"):
        align_median(xray, optical, clip=-1)
    bad = optical.copy()
    bad.loc[1, "ra"] = np.nan
    with pytest.raises(InputError, match="no valid RA/Dec"):
        align_median(xray, bad)
    reg = tmp_path / "img.reg"
    reg.write_text("image\ncircle(100,200,5)\n")
    with pytest.raises(InputError, match="sky coordinates"):
        align_median(xray, reg)


def test_median_notes_shared_counterpart():
    xray, optical = _three_pairs()
    two = pd.concat(
        [xray, xray.iloc[[0]].assign(source_id="A2", dec=xray["dec"][0] + 0.4 * ARCSEC)]
    )
    sol = align_median(two, optical)
    assert sol.n_used == 4
    assert any("share an optical source" in n for n in sol.notes)


# ---------------------------------------------------------------------------------------
# Solution file, region file, plot


def test_solution_json_roundtrip(tmp_path):
    xray, optical = _three_pairs()
    sol = align_median(xray, optical, clip=3)
    path = sol.write_json(tmp_path / "sol.json")
    data = json.loads(path.read_text())
    assert data["std_x"] == pytest.approx(sol.std_x)  # top-level keys for the PU step
    assert data["std_y"] == pytest.approx(sol.std_y)
    assert data["shift_x"] == pytest.approx(0.3, abs=1e-4)
    back = AlignmentSolution.read_json(path)
    assert back.shift == sol.shift and back.std == sol.std and back.n_used == 3
    assert back.flags == sol.flags and back.params == sol.params
    pd.testing.assert_frame_equal(
        back.pairs.reset_index(drop=True), sol.pairs.reset_index(drop=True), check_dtype=False
    )
    with pytest.raises(OutputExistsError):
        sol.write_json(path)
    sol.write_json(path, overwrite=True)


def test_solution_json_nan_and_bad_files(tmp_path):
    xray, optical = _three_pairs()
    sol = align_median(xray, optical)
    sol = dataclasses.replace(sol, std_x=math.nan, std_y=math.nan)  # a scatter not known
    path = sol.write_json(tmp_path / "nan.json")
    data = json.loads(path.read_text())  # strict JSON: NaN written as null
    assert data["std_x"] is None and data["std_y"] is None
    assert math.isnan(AlignmentSolution.read_json(path).std_x)
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(InputError, match="not an xrbid alignment solution"):
        AlignmentSolution.read_json(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InputError, match="not JSON"):
        AlignmentSolution.read_json(tmp_path / "broken.json")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"format": "something-else/9", "std_x": 0.1, "std_y": 0.2}', "'something-else/9'"),
        ('[{"format": "xrbid-alignment/1", "std_x": 0.1, "std_y": 0.2}]', "a JSON list"),
        ('{"std_x": 0.1, "std_y": 0.2}', "no 'format'"),
        ("0.25", "a JSON float"),
    ],
)
def test_solution_reader_checks_the_format(tmp_path, content, match):
    path = tmp_path / "sol.json"
    path.write_text(content)
    for reader in (read_solution_data, AlignmentSolution.read_json, sigma_astro_of):
        with pytest.raises(InputError, match="not an xrbid alignment solution") as info:
            reader(path)
        assert match in str(info.value) and str(path) in str(info.value)


def test_solution_reader_accepts_what_write_json_writes(tmp_path):
    xray, optical = _three_pairs()
    path = align_median(xray, optical).write_json(tmp_path / "sol.json")
    data = read_solution_data(path)
    assert data["format"] == "xrbid-alignment/1"
    assert read_solution(path).n_used == 3
    assert sigma_astro_of(path) == (data["std_x"], data["std_y"])


def test_matched_regions_and_plot(tmp_path):
    xray, optical = _three_pairs()
    sol = align_median(xray, optical)
    reg = sol.write_matched_regions(tmp_path / "m.reg", radius=0.5)
    back = read_regions(reg)
    assert len(back) == 3
    assert np.max(separation_arcsec(back["ra"], back["dec"], optical["ra"], optical["dec"])) < 1e-3
    assert back["label"].tolist() == ["A", "B", "C"]
    png = sol.plot_residuals(tmp_path / "r.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    with pytest.raises(OutputExistsError):
        sol.plot_residuals(png)
    with pytest.raises(OutputExistsError):
        sol.write_matched_regions(reg)


# ---------------------------------------------------------------------------------------
# apply_shift


def test_apply_shift_hand_values_and_inputs_kept():
    df = pd.DataFrame({"source_id": ["s"], "ra": [150.0], "dec": [60.0]})
    before = df.copy()
    sol = AlignmentSolution("median", 0.3, 0.36, 0.1, 0.1, 3, True, 150.0, 60.0)
    out = apply_shift(df, sol)
    pd.testing.assert_frame_equal(df, before)  # input untouched
    assert out["ra"].iloc[0] == 150.0 and out["dec"].iloc[0] == 60.0
    # at the tangent point: ΔDec = 0.36", ΔRA = 0.3" / cos(60) = 0.6" of RA (to first order;
    # the gnomonic inverse adds 0.6" * 0.36" * tan(60) / 206265" = 1.8e-6" on RA)
    assert (out["dec_aligned"].iloc[0] - 60.0) * 3600 == pytest.approx(0.36, abs=1e-6)
    assert (out["ra_aligned"].iloc[0] - 150.0) * 3600 == pytest.approx(0.6, abs=1e-5)


def test_apply_shift_across_wrap_and_significance():
    df = pd.DataFrame({"ra": [359.99995, 0.00005], "dec": [0.0, 0.0]})
    sol = AlignmentSolution("median", 0.36, 0.0, 0.5, 0.5, 3, False, 0.0, 0.0)
    out = apply_shift(df, sol)
    np.testing.assert_allclose(out["ra_aligned"], [0.00005, 0.00015], atol=1e-9)
    same = apply_shift(df, sol, when="significant")  # not significant: not applied
    np.testing.assert_array_equal(same["ra_aligned"], df["ra"])
    with pytest.raises(ColumnError):
        apply_shift(df.rename(columns={"ra": "x"}), sol)


def test_apply_shift_warns_far_from_the_field():
    sol = AlignmentSolution("median", 0.3, 0.0, 0.1, 0.1, 3, True, 10.0, 20.0)
    near = pd.DataFrame({"ra": [10.01], "dec": [20.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        apply_shift(near, sol)
    far = pd.DataFrame({"ra": [10.01, 40.0], "dec": [20.0, 20.0]})
    with pytest.warns(UserWarning, match="1 row"):
        apply_shift(far, sol)


def test_apply_shift_undoes_injected_shift():
    xray, optical = _three_pairs()
    sol = align_median(xray, optical)
    out = apply_shift(xray, sol)
    # After the shift (0.3, 0.2) each calibrator is off its counterpart by the pair's
    # offset minus the shift: A (0, 0), B (-0.4, 0), C (0.2, -0.6) -> 0, 0.4, 0.6325".
    sep_after = separation_arcsec(
        out["ra_aligned"], out["dec_aligned"], optical["ra"], optical["dec"]
    )
    np.testing.assert_allclose(sep_after, [0.0, 0.4, math.sqrt(0.4)], atol=1e-3)


# ---------------------------------------------------------------------------------------
# WLS: synthetic fields


def _field(seed, *, n=150, shift=(0.37, -0.21), outliers=0.2, ra0=150.0, dec0=2.0, noise=0.08):
    """X-ray detections and reference sources with a known shift (reference − X-ray).

    A fraction ``outliers`` of the detections are paired with an unrelated reference source
    up to 3" away (wrong matches).
    """
    rng = np.random.default_rng(seed)
    xi, eta = rng.uniform(-500, 500, (2, n))
    r0 = rng.uniform(0.3, 0.9, n)
    r1 = r0 * rng.uniform(0.6, 1.0, n)
    rra, rdec = from_tangent_plane(xi, eta, ra0, dec0)
    sig = noise * np.sqrt(r0 * r1) / 0.5
    x_xi = xi - shift[0] + rng.normal(0, 1, n) * sig
    x_eta = eta - shift[1] + rng.normal(0, 1, n) * sig
    bad = rng.choice(n, int(outliers * n), replace=False)
    ang = rng.uniform(0, 2 * np.pi, bad.size)
    rad = 3.0 * np.sqrt(rng.uniform(0, 1, bad.size))
    x_xi[bad] = xi[bad] - shift[0] + rad * np.cos(ang)
    x_eta[bad] = eta[bad] - shift[1] + rad * np.sin(ang)
    xra, xdec = from_tangent_plane(x_xi, x_eta, ra0, dec0)
    xray = pd.DataFrame(
        {
            "source_id": [f"X{i}" for i in range(n)],
            "ra": xra,
            "dec": xdec,
            "err_r0": r0,
            "err_r1": r1,
            "theta": rng.uniform(0, 10, n),
            "counts": rng.uniform(5, 500, n),
        }
    )
    ref = pd.DataFrame({"source_id": [f"G{i}" for i in range(n)], "ra": rra, "dec": rdec})
    return xray, ref


@pytest.mark.parametrize(
    ("seed", "ra0", "dec0", "shift"),
    [
        (1, 150.0, 2.0, (0.37, -0.21)),
        (2, 359.95, -5.0, (-0.52, 0.18)),  # field across RA = 0/360
        (3, 0.05, 45.0, (0.05, 0.61)),
        (4, 80.0, 88.5, (0.30, 0.30)),  # near the pole
        (5, 210.8, 54.35, (-0.15, -0.40)),
    ],
)
def test_wls_recovers_injected_shift_with_outliers(seed, ra0, dec0, shift):
    xray, ref = _field(seed, shift=shift, ra0=ra0, dec0=dec0)
    sol = align_wls(xray, ref, ref_point=(ra0, dec0))
    assert sol.method == "wls"
    assert abs(sol.shift_x - shift[0]) < 0.02
    assert abs(sol.shift_y - shift[1]) < 0.02
    assert sol.params["group"] == 1
    assert not any(sol.flags.values())
    # Every candidate pair is within 3"; the used ones are the 0-1" group.
    assert sol.pairs["sep"].max() <= 3.0
    assert sol.pairs.loc[sol.pairs["used"], "sep"].max() <= 1.0


def _field_close_outliers(seed, *, n, shift, around, ra0=150.0, dec0=2.0):
    """`_field` without far outliers, then 20% of the detections displaced 0.3-0.9" (uniform,
    random directions) so that every wrong pair stays in the 0-1" group.

    ``around="counterpart"``: the detection lands 0.3-0.9" from where its true counterpart
    puts it (reference − shift); its residual from the true shift is the offset itself.
    ``around="reference"``: the detection lands 0.3-0.9" from the reference source (an
    unrelated source near the detection, as a wrong match is); its residual is offset − shift.
    Returns the tables and the displaced row numbers.
    """
    xray, ref = _field(seed, n=n, shift=shift, outliers=0.0, ra0=ra0, dec0=dec0)
    rng = np.random.default_rng(seed + 1000)
    bad = np.sort(rng.choice(n, n // 5, replace=False))
    ang = rng.uniform(0, 2 * np.pi, bad.size)
    rad = rng.uniform(0.3, 0.9, bad.size)
    rxi, reta = tangent_plane(ref["ra"].to_numpy()[bad], ref["dec"].to_numpy()[bad], ra0, dec0)
    if around == "counterpart":
        rxi, reta = rxi - shift[0], reta - shift[1]
    xra, xdec = from_tangent_plane(rxi + rad * np.cos(ang), reta + rad * np.sin(ang), ra0, dec0)
    xray.loc[bad, "ra"] = xra
    xray.loc[bad, "dec"] = xdec
    return xray, ref, bad


def _shift_error(sol, shift):
    return max(abs(sol.shift_x - shift[0]), abs(sol.shift_y - shift[1]))


@pytest.mark.parametrize("seed", [31, 32, 33, 34, 35])
def test_wls_cauchy_loss_rejects_outliers_inside_the_used_group(seed):
    # The shift is kept small (0.072") so that |shift + offset| <= 0.97": every outlier is a
    # pair of the 0-1" group, which the fit uses, and only the loss can reject it. (With a
    # 0.43" shift about a fifth of these outliers land at 1-1.33", where they can form a
    # tighter group than the 0-1" one, which the group rule then picks.)
    shift = (0.06, -0.04)
    xray, ref, bad = _field_close_outliers(seed, n=300, shift=shift, around="counterpart")
    sol = align_wls(xray, ref, ref_point=(150.0, 2.0))
    assert sol.params["group"] == 1
    used_rows = set(sol.pairs.loc[sol.pairs["used"], "xray_row"])
    assert set(bad.tolist()) <= used_rows  # the group rule removed none of the outliers
    assert _shift_error(sol, shift) < 0.02


def test_wls_cauchy_loss_beats_the_linear_loss_on_outliers_inside_1arcsec():
    shift = (0.06, -0.04)
    cauchy, linear = [], []
    for seed in (31, 32, 33, 34, 35):
        xray, ref, _ = _field_close_outliers(seed, n=300, shift=shift, around="counterpart")
        cauchy.append(_shift_error(align_wls(xray, ref, ref_point=(150.0, 2.0)), shift))
        linear.append(
            _shift_error(align_wls(xray, ref, ref_point=(150.0, 2.0), loss="linear"), shift)
        )
    assert np.mean(cauchy) < 0.6 * np.mean(linear)


def test_wls_cauchy_loss_on_wrong_matches_near_the_detection():
    # Wrong matches scattered about the detection pull a plain least-squares fit towards no
    # shift by about (outlier fraction) x shift = 0.2 x 0.43" = 0.085" (measured 0.075-0.098"
    # here). The Cauchy loss (f_scale 1, residual sqrt(w) d with w = 1/(r0 r1)) sees these
    # outliers at normalised residuals of typically 1-2, where it still gives them a fifth to
    # a half of an inlier's weight: the pull is cut by three to four (to 0.022-0.024" here)
    # but not removed, and more sources do not shrink a bias. Hence 0.04" here, not 0.02".
    shift = (0.37, -0.21)
    for seed in (41, 42, 43):
        xray, ref, bad = _field_close_outliers(seed, n=300, shift=shift, around="reference")
        sol = align_wls(xray, ref, ref_point=(150.0, 2.0))
        lin = align_wls(xray, ref, ref_point=(150.0, 2.0), loss="linear")
        assert sol.params["group"] == 1
        assert set(bad.tolist()) <= set(sol.pairs.loc[sol.pairs["used"], "xray_row"])
        assert _shift_error(lin, shift) > 0.05
        assert _shift_error(sol, shift) < 0.04
        assert _shift_error(sol, shift) < 0.5 * _shift_error(lin, shift)


@pytest.mark.parametrize(
    ("seed", "ra0", "dec0", "shift"),
    [
        (6, 359.95, -5.0, (-0.52, 0.18)),  # field across RA = 0/360
        (7, 80.0, 88.5, (0.30, 0.30)),  # near the pole
    ],
)
def test_wls_default_tangent_point_is_the_centroid_of_the_detections(seed, ra0, dec0, shift):
    xray, ref = _field(seed, shift=shift, ra0=ra0, dec0=dec0)
    sol = align_wls(xray, ref)  # no ref_point: the tangent point is the detections' centroid
    # The centroid by astropy: the direction of the mean Cartesian unit vector.
    xyz = SkyCoord(xray["ra"].to_numpy() * u.deg, xray["dec"].to_numpy() * u.deg).cartesian
    mean = SkyCoord(
        x=xyz.x.mean(), y=xyz.y.mean(), z=xyz.z.mean(), representation_type="cartesian"
    ).spherical
    expected = SkyCoord(mean.lon, mean.lat)
    got = SkyCoord(sol.ra0 * u.deg, sol.dec0 * u.deg)
    assert got.separation(expected).arcsec < 1e-6
    # ...which lies inside the 1000" x 1000" field, not at RA 180 (a naive mean across 0/360)
    assert got.separation(SkyCoord(ra0 * u.deg, dec0 * u.deg)).arcsec < 700
    assert _shift_error(sol, shift) < 0.02
    assert sol.params["group"] == 1


def test_wls_mm_solver_agrees_with_least_squares():
    for seed in range(6, 12):
        xray, ref = _field(seed, n=60, outliers=0.3)
        a = align_wls(xray, ref, solver="least_squares")
        b = align_wls(xray, ref, solver="mm")
        assert a.shift_x == pytest.approx(b.shift_x, abs=1e-6)
        assert a.shift_y == pytest.approx(b.shift_y, abs=1e-6)


def _pairs_field(offsets, *, r0r1=None, ra0=30.0, dec0=-20.0, spacing=40.0, extra=None):
    """Detections on a grid and one reference source per detection at the given offsets."""
    offsets = np.asarray(offsets, float)
    n = len(offsets)
    xi = np.arange(n) * spacing
    eta = np.zeros(n)
    xra, xdec = from_tangent_plane(xi, eta, ra0, dec0)
    rra, rdec = from_tangent_plane(xi + offsets[:, 0], eta + offsets[:, 1], ra0, dec0)
    r0 = np.ones(n) if r0r1 is None else np.asarray(r0r1, float)
    xray = pd.DataFrame({"ra": xra, "dec": xdec, "err_r0": r0, "err_r1": 1.0,
                         "theta": 2.0, "counts": 100.0})  # fmt: skip
    ref = pd.DataFrame({"ra": rra, "dec": rdec})
    if extra is not None:  # additional reference sources (detection index, offset)
        i = np.array([e[0] for e in extra])
        off = np.array([e[1] for e in extra], float)
        era, edec = from_tangent_plane(xi[i] + off[:, 0], eta[i] + off[:, 1], ra0, dec0)
        ref = pd.concat([ref, pd.DataFrame({"ra": era, "dec": edec})], ignore_index=True)
    return xray, ref, (ra0, dec0)


def test_wls_weights_are_inverse_r0_r1_by_hand():
    # Linear loss: the minimum of sum w d^2 is the weighted mean of the offsets.
    # Offsets 0.2, 0.5, 0.8" (east); r0*r1 = 1, 0.5, 0.25 -> w = 1, 2, 4.
    # shift = (0.2*1 + 0.5*2 + 0.8*4) / 7 = 4.4 / 7 = 0.628571...
    xray, ref, rp = _pairs_field([(0.2, 0.0), (0.5, 0.0), (0.8, 0.0)], r0r1=[1.0, 0.5, 0.25])
    sol = align_wls(xray, ref, loss="linear", ref_point=rp)
    assert sol.shift_x == pytest.approx(4.4 / 7, abs=1e-6)
    assert sol.shift_y == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(sol.pairs["weight"], [1.0, 2.0, 4.0])
    uniform = align_wls(xray, ref, loss="linear", weights="uniform", ref_point=rp)
    assert uniform.shift_x == pytest.approx(0.5, abs=1e-6)


def test_wls_cauchy_resists_an_outlier_in_the_group():
    # Four pairs at 0.3" east and one at 0.95" east (same group 0-1"): the linear mean would
    # be (4*0.3 + 0.95)/5 = 0.43; the Cauchy fit stays near 0.3.
    offs = [(0.3, 0.0)] * 4 + [(0.95, 0.0)]
    xray, ref, rp = _pairs_field(offs, r0r1=[0.01] * 5)
    lin = align_wls(xray, ref, loss="linear", ref_point=rp)
    cau = align_wls(xray, ref, ref_point=rp)
    assert lin.shift_x == pytest.approx(0.43, abs=1e-6)
    assert abs(cau.shift_x - 0.3) < 0.02


def test_wls_bounds_clip_the_shift():
    offs = [(1.8, 0.0)] * 4
    xray, ref, rp = _pairs_field(offs)
    sol = align_wls(xray, ref, ref_point=rp, bounds="1arcsec")
    assert sol.shift_x == pytest.approx(1.0, abs=1e-9)
    free = align_wls(xray, ref, ref_point=rp)
    assert free.shift_x == pytest.approx(1.8, abs=1e-5)
    assert free.flags["shift_large"]


def test_group_rule_lowest_sigma_among_groups_with_three_matches():
    # Group 1 (0-1"): 3 detections, scattered (sigma large); group 2 (1-2"): 4 detections,
    # tight; group 3 (2-3"): 2 detections. Rule: among groups with >= 3 matches, lowest
    # sigma = sqrt(sx*sy) -> group 2.
    offs = [(0.9, 0.0), (-0.1, 0.8), (0.0, -0.7)]  # group 1
    offs += [(1.50, 0.10), (1.52, 0.12), (1.48, 0.08), (1.51, 0.09)]  # group 2
    offs += [(2.5, 0.1), (0.1, 2.6)]  # group 3
    xray, ref, rp = _pairs_field(offs)
    sol = align_wls(xray, ref, ref_point=rp)
    assert sol.params["group"] == 2
    assert sol.n_used == 4
    assert sol.pairs.loc[sol.pairs["used"], "sep"].between(1.0, 2.0).all()
    assert sol.shift_x == pytest.approx(1.5025, abs=0.01)


def test_group_rule_counts_detections_not_pairs():
    # One detection with three reference sources within 1" (3 pairs, 1 match) and two other
    # detections: group 1 has 3 matches, so it is eligible; group 2 has 3 pairs but they all
    # belong to one detection (1 match), so it is not, even though its sigma would be lower.
    offs = [(0.2, 0.0), (0.25, 0.05), (0.15, -0.05)]
    extra = [(0, (1.2, 0.0)), (0, (1.21, 0.0)), (0, (1.2, 0.01))]
    xray, ref, rp = _pairs_field(offs, extra=extra)
    sol = align_wls(xray, ref, ref_point=rp)
    assert sol.params["group"] == 1
    assert sol.params["n_match"] == 3


def test_group_rule_fallback_largest_then_lowest_sigma():
    # No group has 3 matches: groups 1 and 2 have 2 each (tie) -> the lower sigma wins.
    offs = [(0.2, 0.0), (0.9, 0.6)]  # group 1: spread
    offs += [(1.5, 0.0), (1.52, 0.01)]  # group 2: tight
    offs += [(2.5, 0.0)]  # group 3: one match
    xray, ref, rp = _pairs_field(offs)
    sol = align_wls(xray, ref, ref_point=rp)
    assert sol.params["group"] == 2
    # Largest group wins regardless of sigma when there is no tie.
    offs2 = [(0.2, 0.0), (0.9, 0.6), (1.5, 0.0), (2.5, 0.0), (2.6, 0.3), (2.4, -0.5)]
    xray, ref, rp = _pairs_field(offs2)
    assert align_wls(xray, ref, ref_point=rp).params["group"] == 3


def test_proper_motion_cut():
    offs = [(0.3, 0.0)] * 4
    extra = [(i, (0.1, 0.1)) for i in range(4)]  # a second source near each detection
    xray, ref, rp = _pairs_field(offs, extra=extra)
    # The true counterparts (rows 0-3): total PM 50 (kept: not > 50), NaN, NaN/NaN, 10.
    # The extra sources (rows 4-7): 30/41 (50.8, dropped), 60 (dropped), NaN/60, 0/-51.
    ref["pmra"] = [30.0, np.nan, np.nan, 10.0, 30.0, 60.0, np.nan, 0.0]
    ref["pmdec"] = [40.0, 5.0, np.nan, 0.0, 41.0, 0.0, 60.0, -51.0]
    sol = align_wls(xray, ref, ref_point=rp)
    assert sorted(sol.pairs["ref_row"].tolist()) == [0, 1, 2, 3]
    assert sol.shift_x == pytest.approx(0.3, abs=1e-5)
    assert any("proper motion" in n for n in sol.notes)
    keep_all = align_wls(xray, ref, ref_point=rp, pm_limit=None)
    assert len(keep_all.pairs) == 8


def test_qa_flag_density_high():
    xray, ref, rp = _pairs_field([(0.3, 0.0)] * 4)
    assert not align_wls(xray, ref, ref_point=rp).flags["density_high"]
    assert align_wls(xray, ref, ref_point=rp, density=101.0).flags["density_high"]
    assert not align_wls(xray, ref, ref_point=rp, density=100.0).flags["density_high"]
    # Counted from the table: the 4 added sources and the first counterpart (0.3" from the
    # centre) lie within 0.1' -> 5 / (pi 0.01) = 159 per arcmin^2
    near = pd.DataFrame({"ra": [rp[0]] * 4, "dec": rp[1] + np.arange(4) * ARCSEC})
    dense = pd.concat([ref, near], ignore_index=True)
    sol = align_wls(xray, dense, ref_point=rp, field_radius="0.1arcmin")
    assert sol.params["density"] == pytest.approx(5 / (math.pi * 0.01))
    assert sol.flags["density_high"]


def test_qa_flag_few_matches_conditions():
    xray, ref, rp = _pairs_field([(0.3, 0.0), (0.3, 0.0)])
    # two matches, central and bright sources, small shift: no flag
    sol = align_wls(xray, ref, ref_point=rp)
    assert sol.n_used == 2 and not sol.flags["few_matches"]
    # ... no source within 5'
    assert align_wls(xray.assign(theta=6.0), ref, ref_point=rp).flags["few_matches"]
    # ... no source with more than 15 counts
    assert align_wls(xray.assign(counts=15.0), ref, ref_point=rp).flags["few_matches"]
    # ... columns absent: the conditions cannot be checked -> flagged
    assert align_wls(xray.drop(columns="theta"), ref, ref_point=rp).flags["few_matches"]
    # ... total shift above 0.5"
    xray6, ref6, rp6 = _pairs_field([(0.6, 0.0), (0.6, 0.0)])
    sol6 = align_wls(xray6, ref6, ref_point=rp6)
    assert sol6.flags["few_matches"] and not sol6.flags["shift_large"]
    # three matches: never "few"
    xray3, ref3, rp3 = _pairs_field([(0.6, 0.0)] * 3)
    assert not align_wls(xray3.assign(theta=9.0), ref3, ref_point=rp3).flags["few_matches"]


def test_wls_with_nothing_matched_is_an_error_but_stacks_are_flagged():
    xray, _, rp = _pairs_field([(0.3, 0.0)] * 3)
    far = pd.DataFrame({"ra": [rp[0] + 1.0], "dec": [rp[1]]})
    with pytest.raises(InputError, match=r"nothing to fit.*do not cover the same field"):
        align_wls(xray, far, ref_point=rp)
    # a batch of stacks reports such a stack with its flag instead of stopping the batch
    table = align_wls_stacks(xray.assign(stack_id="s1"), far.assign(stack_id="s1"))
    row = table.iloc[0]
    assert row["no_matches"] and row["few_matches"] and row["n_used"] == 0


def test_wls_bad_input():
    xray, ref, _ = _pairs_field([(0.3, 0.0)] * 3)
    with pytest.raises(ColumnError, match="err_r0"):
        align_wls(xray.drop(columns="err_r0"), ref)
    with pytest.raises(ColumnError, match="no sky coordinates"):
        align_wls(xray, ref.drop(columns="dec"))
    with pytest.raises(InputError, match="loss"):
        align_wls(xray, ref, loss="l3")
    with pytest.raises(InputError, match="bounds"):
        align_wls(xray, ref, bounds="-1arcsec")
    with pytest.raises(InputError, match="weights"):
        align_wls(xray, ref, weights="inverse")
    with pytest.raises(InputError, match="solver"):
        align_wls(xray, ref, solver="magic")


def test_wls_rows_without_weights_are_left_out():
    xray, ref, rp = _pairs_field([(0.3, 0.0)] * 3 + [(0.9, 0.0)])
    xray.loc[3, "err_r0"] = np.nan
    sol = align_wls(xray, ref, ref_point=rp, loss="linear")
    assert sol.n_used == 3 and sol.shift_x == pytest.approx(0.3, abs=1e-6)
    assert any("without a usable weight" in n for n in sol.notes)


# ---------------------------------------------------------------------------------------
# WLS: two-step through an intermediate catalogue


def _two_step_field(seed, n_ref_near, s1=(0.3, -0.2), s2=(0.1, 0.15)):
    """X-ray -> intermediate offset s1, intermediate -> reference offset s2."""
    rng = np.random.default_rng(seed)
    n = 40
    ra0, dec0 = 120.0, -35.0
    xi, eta = rng.uniform(-400, 400, (2, n))
    ira, idec = from_tangent_plane(xi, eta, ra0, dec0)
    xra, xdec = from_tangent_plane(
        xi - s1[0] + rng.normal(0, 0.03, n), eta - s1[1] + rng.normal(0, 0.03, n), ra0, dec0
    )
    # every intermediate source has its reference counterpart at +s2 (one-to-one)
    rra, rdec = from_tangent_plane(xi + s2[0], eta + s2[1], ra0, dec0)
    xray = pd.DataFrame({"ra": xra, "dec": xdec, "err_r0": 0.5, "err_r1": 0.4,
                         "theta": 3.0, "counts": 50.0})  # fmt: skip
    ids = [f"G{i}" for i in range(n)]
    inter = pd.DataFrame({"ra": ira, "dec": idec, "err_ra": 0.2, "err_dec": 0.2,
                          "reference_id": ids})  # fmt: skip
    reference = pd.DataFrame({"source_id": ids, "ra": rra, "dec": rdec})
    # the reference catalogue itself only reaches the first n_ref_near detections within 3"
    # (the others are moved far away, so they serve only the intermediate link)
    far = np.arange(n) >= n_ref_near
    reference.loc[far, "dec"] = reference.loc[far, "dec"] + 0.01
    inter.loc[far, "reference_id"] = [f"G{i}" for i in np.flatnonzero(far)]
    return xray, inter, reference, (ra0, dec0)


def test_two_step_when_intermediate_has_more_matches():
    s1, s2 = (0.3, -0.2), (0.1, 0.15)
    xray, inter, reference, rp = _two_step_field(8, n_ref_near=5, s1=s1, s2=s2)
    # The far reference sources keep their link but lose their +s2 relation: drop them from
    # the link so the intermediate -> reference fit sees only true counterparts.
    inter.loc[5:, "reference_id"] = "none"
    sol = align_wls(xray, reference, ref_point=rp, intermediate=inter)
    assert sol.method == "wls-two-step"
    assert [s["name"] for s in sol.steps] == ["xray->intermediate", "intermediate->reference"]
    assert sol.steps[0]["shift_x"] == pytest.approx(s1[0], abs=0.02)
    assert sol.steps[1]["shift_x"] == pytest.approx(s2[0], abs=1e-6)
    assert sol.steps[1]["shift_y"] == pytest.approx(s2[1], abs=1e-6)
    assert sol.shift_x == pytest.approx(s1[0] + s2[0], abs=0.02)
    assert sol.shift_y == pytest.approx(s1[1] + s2[1], abs=0.02)
    assert sol.shift_x == pytest.approx(sol.steps[0]["shift_x"] + sol.steps[1]["shift_x"])


def test_two_step_not_used_when_reference_has_as_many():
    xray, inter, reference, rp = _two_step_field(9, n_ref_near=40)
    sol = align_wls(xray, reference, ref_point=rp, intermediate=inter)
    assert sol.method == "wls"
    assert any("direct fit used" in n for n in sol.notes)
    assert sol.shift_x == pytest.approx(0.4, abs=0.02)


def test_two_step_bad_intermediate():
    xray, inter, reference, rp = _two_step_field(10, n_ref_near=5)
    with pytest.raises(ColumnError, match="position errors"):
        align_wls(xray, reference, ref_point=rp, intermediate=inter.drop(columns="err_ra"))
    with pytest.raises(ColumnError, match="linking"):
        align_wls(xray, reference, ref_point=rp, intermediate=inter.drop(columns="reference_id"))


# ---------------------------------------------------------------------------------------
# Many stacks at once


def test_stacks_match_single_stack_solutions():
    fields = [
        _field(20, n=50, ra0=359.99, dec0=10.0, shift=(0.2, 0.1)),
        _field(21, n=30, ra0=10.0, dec0=-60.0, shift=(-0.4, 0.3)),
        _field(22, n=40, ra0=200.0, dec0=85.0, shift=(0.0, -0.2)),
    ]
    centres = [(359.99, 10.0), (10.0, -60.0), (200.0, 85.0)]
    xs, rs = [], []
    for k, ((x, r), (ra0, dec0)) in enumerate(zip(fields, centres)):
        xs.append(x.assign(stack_id=f"s{k}", ra_stack=ra0, dec_stack=dec0))
        rs.append(r.assign(stack_id=f"s{k}"))
    # a stack without reference sources
    xs.append(pd.DataFrame({"stack_id": "empty", "ra": [50.0], "dec": [5.0], "err_r0": 1.0,
                            "err_r1": 1.0, "theta": 1.0, "counts": 100.0}))  # fmt: skip
    xray, ref = pd.concat(xs, ignore_index=True), pd.concat(rs, ignore_index=True)
    table = align_wls_stacks(xray, ref)
    table_ls = align_wls_stacks(xray, ref, solver="least_squares")
    assert table.index.tolist() == ["s0", "s1", "s2", "empty"]
    for k, (x, r) in enumerate(fields):
        single = align_wls(x, r, ref_point=centres[k])
        row = table.loc[f"s{k}"]
        assert row["shift_x"] == pytest.approx(single.shift_x, abs=1e-6)
        assert row["shift_y"] == pytest.approx(single.shift_y, abs=1e-6)
        assert row["std_x"] == pytest.approx(single.std_x, abs=1e-9)
        assert row["n_used"] == single.n_used
        assert row["group"] == single.params["group"]
        assert table_ls.loc[f"s{k}", "shift_x"] == pytest.approx(single.shift_x, abs=1e-9)
    assert table.loc["empty", "no_matches"] and table.loc["empty", "qa_required"]
    assert not table.loc["s1", "qa_required"]
    with pytest.raises(ColumnError, match="stack column"):
        align_wls_stacks(xray.drop(columns="stack_id"), ref)


# ---------------------------------------------------------------------------------------
# Real data: Chandra astromon X-ray sources and their optical/NIR counterparts


@pytest.fixture(scope="module")
def astromon(testdata):
    d = testdata / "chandra-astromon"
    xray = read_table(d / "astromon_xray_src.ecsv")
    cat = read_table(d / "astromon_cat_src.ecsv")
    obs = read_table(d / "astromon_obs.ecsv")
    xcorr = read_table(d / "astromon_xcorr.ecsv")
    xray["source_id"] = xray["obsid"].astype(str) + "-" + xray["id"].astype(str)
    xray["theta"] = xray["r_angle"] / 60.0  # arcsec -> arcmin
    xray["counts"] = xray["net_counts"]
    return xray, cat, obs, xcorr


def test_astromon_separations_match_recorded(astromon):
    xray, cat, _, _ = astromon
    m = cat.merge(xray, left_on=["obsid", "x_id"], right_on=["obsid", "id"], suffixes=("", "_x"))
    assert len(m) == 337
    sep = separation_arcsec(m["ra"], m["dec"], m["ra_x"], m["dec_x"])
    np.testing.assert_allclose(sep, m["separation"], atol=1e-5)


def test_astromon_offsets_match_recorded_dy_dz(astromon):
    # astromon's selected pairs carry (dy, dz): X-ray minus catalogue position along the
    # spacecraft axes. Rotating the tangent-plane offsets of xrbid by the roll angle must
    # give them back: dy = -(dxi cos roll + deta sin roll), dz = dxi sin roll - deta cos roll.
    xray, cat, obs, xcorr = astromon
    for row in xcorr.itertuples():
        x = xray[(xray["obsid"] == row.obsid) & (xray["id"] == row.x_id)]
        c = cat[(cat["obsid"] == row.obsid) & (cat["id"] == row.c_id)]
        roll = np.radians(obs.loc[obs["obsid"] == row.obsid, "roll"].iloc[0])
        sol = align_median(x, c, max_sep=3)
        dxi, deta = sol.pairs["dx"].iloc[0], sol.pairs["dy"].iloc[0]
        assert -(dxi * np.cos(roll) + deta * np.sin(roll)) == pytest.approx(row.dy, abs=2e-3)
        assert dxi * np.sin(roll) - deta * np.cos(roll) == pytest.approx(row.dz, abs=2e-3)
        assert sol.pairs["sep"].iloc[0] == pytest.approx(row.dr, abs=1e-5)


def test_astromon_median_per_obsid(astromon):
    xray, cat, _, _ = astromon
    # ObsID 14536 (Berkeley 59): the documented median of the 146 astromon pairs within 1.5"
    # is dRA = +0.07", dDec = +0.03" (X-ray - catalogue).
    m = cat.merge(xray, left_on=["obsid", "x_id"], right_on=["obsid", "id"], suffixes=("", "_x"))
    m = m[m["obsid"] == 14536]
    sep = separation_arcsec(m["ra"], m["dec"], m["ra_x"], m["dec_x"])
    m = m[sep < 1.5]
    assert len(m) == 146
    # Offsets of each pair on the plane tangent at its X-ray position (cos dec applied).
    dx, dy = tangent_plane(m["ra"], m["dec"], m["ra_x"], m["dec_x"])
    assert -np.median(dx) == pytest.approx(0.07, abs=0.01)
    assert -np.median(dy) == pytest.approx(0.03, abs=0.01)
    # align_median (nearest neighbour within 1.5") on the whole ObsID: 72 of its 75 X-ray
    # sources have a counterpart; the shift agrees with the documented median within 0.03".
    whole = align_median(
        xray[xray["obsid"] == 14536], cat[cat["obsid"] == 14536], max_sep="1.5arcsec"
    )
    assert whole.n_used == 72 and len(whole.unmatched) == 3
    assert -whole.shift_x == pytest.approx(0.07, abs=0.03)
    assert -whole.shift_y == pytest.approx(0.03, abs=0.03)
    # ObsID 14542 has three X-ray sources; two have a counterpart within 1.5": flagged.
    few = align_median(
        xray[xray["obsid"] == 14542], cat[cat["obsid"] == 14542], max_sep="1.5arcsec"
    )
    assert few.n_used == 2 and few.flags["few_matches"]
    assert len(few.unmatched) == 1


def test_astromon_wls_reduces_offsets(astromon):
    xray, cat, obs, _ = astromon
    for o in obs.itertuples():
        x = xray[xray["obsid"] == o.obsid]
        c = cat[cat["obsid"] == o.obsid]
        sol = align_wls(x, c, weights="uniform", ref_point=(o.ra, o.dec))
        used = sol.used_pairs()
        assert sol.n_used >= 6
        before = np.median(np.hypot(used["dx"], used["dy"]))
        after = np.median(np.hypot(used["dx"] - sol.shift_x, used["dy"] - sol.shift_y))
        assert after <= before + 1e-9
        assert abs(sol.shift_x) < 1 and abs(sol.shift_y) < 1
