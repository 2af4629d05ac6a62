"""Finder charts: geometry against the WCS (astropy.wcs directly), files, image comparison."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from tests.photometry.conftest import ABELL478
from xrbid.errors import InputError, OutputExistsError
from xrbid.figures import finder_chart, make_stamp, write_finder_charts

ARCSEC_PER_RAD = 206264.80624709636


@pytest.fixture(scope="module")
def a478_wcs():
    """The image's WCS read straight from its header, independently of xrbid."""
    with fits.open(ABELL478) as hdul:
        header = hdul["SCI"].header
        return WCS(header), np.sqrt(abs(np.linalg.det(WCS(header).wcs.cd))) * 3600.0


def _circles(ax) -> dict[str, Circle]:
    return {p.get_gid(): p for p in ax.patches if isinstance(p, Circle)}


def _gid(ax, gid):
    return [c for c in ax.collections if c.get_gid() == gid]


def test_circles_and_candidates_land_on_the_wcs_positions(
    a478_image, a478_xray, a478_candidates, a478_wcs
):
    wcs, scale = a478_wcs
    for _, src in a478_xray.iterrows():
        ax = finder_chart(a478_image, src, a478_candidates).axes[0]
        x, y = wcs.all_world2pix(src["ra"], src["dec"], 0)
        circles = _circles(ax)
        assert set(circles) == {"pu_1sigma", "pu_2sigma"}
        for name, circle in circles.items():
            cx, cy = circle.center
            assert abs(cx - x) < 0.1 and abs(cy - y) < 0.1
            assert circle.get_radius() == pytest.approx(src[name] / scale, rel=1e-6)
        mine = a478_candidates[a478_candidates["source_id"] == src["source_id"]]
        (markers,) = _gid(ax, "candidates")
        expected = np.column_stack(wcs.all_world2pix(mine["ra"], mine["dec"], 0))
        np.testing.assert_array_less(np.abs(markers.get_offsets() - expected), 0.1)
        numbers = [t.get_text() for t in ax.texts if t.get_gid() == "candidate_number"]
        assert numbers == [str(r) for r in mine["rank"]]
        # the 2-sigma circle holds every candidate of the source
        d = np.hypot(*(expected - [x, y]).T)
        assert np.all(d <= circles["pu_2sigma"].get_radius() + 1e-9)


def test_the_stamp_is_registered_on_the_image_pixels(a478_image, a478_detections, a478_wcs):
    wcs, _ = a478_wcs
    star = a478_detections.sort_values("peak").iloc[-1]  # the brightest star
    stamp = make_stamp(a478_image, star["ra"], star["dec"], size=4.0)
    with fits.open(ABELL478) as hdul:
        pixels = hdul["SCI"].data
    x, y = (int(np.rint(v)) for v in wcs.all_world2pix(star["ra"], star["dec"], 0))
    # the stamp pixel at image pixel (x, y) holds the file's value there
    assert stamp.data[y - stamp.y0, x - stamp.x0] == pytest.approx(pixels[y, x])
    ax = finder_chart(a478_image, {**star, "pu_2sigma": 1.0}).axes[0]
    (im,) = ax.images
    assert im.get_extent() == pytest.approx(list(stamp.extent))
    assert (im.get_extent()[0] + 0.5, im.get_extent()[2] + 0.5) == (stamp.x0, stamp.y0)


def test_compass_points_north_and_east_as_the_cd_matrix_says(a478_image, a478_xray, a478_wcs):
    wcs, _ = a478_wcs
    src = a478_xray.iloc[0]
    ax = finder_chart(a478_image, src).axes[0]
    arrows = {}
    for label in ("N", "E"):
        (arrow,) = [t for t in ax.texts if t.get_gid() == f"compass_{label}"]
        arrows[label] = np.array(arrow.xy) - np.array(arrow.xyann)
    # independent: pixel steps of +Dec and +RA from the inverse CD matrix (tangent plane)
    inv = np.linalg.inv(wcs.wcs.cd)
    north = inv @ [0.0, 1.0]
    east = inv @ [1.0, 0.0]
    for label, expected in (("N", north), ("E", east)):
        got = arrows[label]
        cos = got @ expected / np.hypot(*got) / np.hypot(*expected)
        assert cos > np.cos(np.radians(0.5)), label


def test_scale_bar_in_arcsec_and_parsec(a478_image, a478_xray):
    src = a478_xray.iloc[1]  # 1.6" radius -> 6.4" stamp -> a 2" bar
    ax = finder_chart(a478_image, src).axes[0]
    (bar,) = [a for a in ax.artists if a.get_gid() == "scale_bar"]
    assert bar.txt_label.get_text() == "2″"
    ax = finder_chart(a478_image, src, distance=6.4).axes[0]
    (bar,) = [a for a in ax.artists if a.get_gid() == "scale_bar"]
    pc = 6.4e6 * 2.0 / ARCSEC_PER_RAD  # 62.06 pc at 6.4 Mpc (M101)
    assert bar.txt_label.get_text() == f"2″ = {pc:.3g} pc"
    assert bar.txt_label.get_text() == "2″ = 62.1 pc"


def test_rgb_from_three_bands(candels_images):
    src = pd.Series(
        {"source_id": "CDFN", "ra": 189.49206, "dec": 62.20615, "pu_1sigma": 0.3, "pu_2sigma": 0.6}
    )
    ax = finder_chart(candels_images, src, size=2.4).axes[0]
    (im,) = ax.images
    rgb = np.asarray(im.get_array())
    assert rgb.ndim == 3 and rgb.shape[2] == 3
    assert 0.0 <= rgb.min() and rgb.max() <= 1.0 and rgb.max() > 0.5
    assert ax.get_title(loc="left") == "CDFN  (F606W/F814W/F850LP)"
    with pytest.raises(InputError, match=r"one image .* or three"):
        finder_chart({k: candels_images[k] for k in ("F606W", "F814W")}, src)


def test_ax_is_honoured(a478_image, a478_xray):
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert finder_chart(a478_image, a478_xray.iloc[0], ax=right) is fig
    assert right.images and not left.images


def test_pdf_pages_and_png_per_source(tmp_path, a478_image, a478_xray, a478_candidates):
    seven = pd.concat([a478_xray] * 3, ignore_index=True).iloc[:7]
    seven["source_id"] = [f"2CXO J{i}" for i in range(7)]
    pdf = tmp_path / "finder.pdf"
    assert write_finder_charts(seven, a478_image, pdf, per_page=6) == [pdf]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 2  # 6 + 1
    written = write_finder_charts(a478_xray, a478_image, tmp_path / "f.png", a478_candidates)
    assert [p.name for p in written] == ["f_X1.png", "f_X2.png", "f_X3.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)
    svg = write_finder_charts(a478_xray.iloc[:1], a478_image, tmp_path / "f.svg")
    assert "<svg" in svg[0].read_text()[:1000]


def test_sources_off_the_image_are_named_and_skipped(tmp_path, a478_image, a478_xray):
    off = pd.concat(
        [
            a478_xray,
            pd.DataFrame(
                {
                    "source_id": ["FAR"],
                    "ra": [63.5],
                    "dec": [10.6],
                    "pu_1sigma": [1.0],
                    "pu_2sigma": [2.0],
                }
            ),
        ],
        ignore_index=True,
    )
    with pytest.warns(UserWarning, match="1 source.* not on .*: FAR"):
        written = write_finder_charts(off, a478_image, tmp_path / "f.png")
    assert len(written) == 3
    with pytest.raises(InputError, match="none of the 1 sources is on"):
        write_finder_charts(off.iloc[3:], a478_image, tmp_path / "g.png")


def test_existing_output_refused_before_drawing(tmp_path, a478_image, a478_xray):
    (tmp_path / "f_X2.png").write_bytes(b"old")
    with pytest.raises(OutputExistsError):
        write_finder_charts(a478_xray, a478_image, tmp_path / "f.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f_X2.png"]
    assert (tmp_path / "f_X2.png").read_bytes() == b"old"


def test_image_without_wcs_is_refused(a478_image, a478_xray):
    import dataclasses

    bare = dataclasses.replace(a478_image, wcs=None)
    with pytest.raises(InputError, match="no celestial WCS"):
        finder_chart(bare, a478_xray.iloc[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        finder_chart(a478_image, a478_xray.iloc[0])


@pytest.mark.mpl_image_compare(baseline_dir="baseline", tolerance=3)
def test_finder_image(a478_image, a478_xray, a478_candidates):
    return finder_chart(a478_image, a478_xray.iloc[1], a478_candidates, distance=6.4)


@pytest.mark.mpl_image_compare(baseline_dir="baseline", tolerance=3)
def test_finder_rgb_image(candels_images):
    src = pd.Series(
        {"source_id": "CDFN", "ra": 189.49206, "dec": 62.20615, "pu_1sigma": 0.3, "pu_2sigma": 0.6}
    )
    cands = pd.DataFrame(
        {
            "source_id": ["CDFN"] * 2,
            "rank": [1, 2],
            "ra": [189.49206, 189.491624],
            "dec": [62.20615, 62.206249],
        }
    )
    return finder_chart(candels_images, src, cands, size=2.8)
