"""report.html in a real browser (headless Chromium driven by selenium).

Every image must have loaded (naturalWidth > 0) and every table must hold its rows; the
sortable tables must sort when a header is clicked.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver

import xrbid
from tests.conftest import ROOT
from xrbid.pipeline import run_galaxy

from .conftest import OPTICAL, m101_toml

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM or not os.path.exists(DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are needed (apt-get install them)")
        pytest.skip("chromium/chromium-driver not installed")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]:
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=opts, service=Service(DRIVER))
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _images(driver):
    return driver.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
    )


def _tables(driver):
    return dict(
        driver.execute_script(
            "return Array.from(document.querySelectorAll('table.sortable'))"
            ".map(t => [t.id, t.tBodies[0].rows.length])"
        )
    )


def test_m101_report_in_chromium(browser, tmp_path):
    config = tmp_path / "m101.toml"
    config.write_text(m101_toml())
    run_galaxy(config)
    report = tmp_path / "out" / "report.html"
    # self-contained: moved away from its folder it still shows everything
    alone = tmp_path / "elsewhere" / "report.html"
    alone.parent.mkdir()
    shutil.copy(report, alone)
    browser.get(alone.as_uri())
    assert browser.title.startswith("M101")
    images = _images(browser)
    assert [alt for alt, _, _ in images] == ["alignment offsets"]
    assert all(done and width > 0 for _, done, width in images), images
    best = xrbid.read_table(tmp_path / "out" / "best.ecsv")
    cands = xrbid.read_table(tmp_path / "out" / "candidates.ecsv")
    assert _tables(browser) == {"best": len(best), "candidates": len(cands)}
    # click the 2-sigma radius header of the best table: rows sort by it (ascending)
    headers = browser.find_elements("css selector", "#best thead th")
    column = [h.text for h in headers].index("pu_2sigma")
    headers[column].click()
    values = browser.execute_script(
        f"return Array.from(document.querySelectorAll('#best tbody tr'))"
        f".map(r => parseFloat(r.cells[{column}].dataset.v))"
    )
    finite = [v for v in values if v == v]
    assert finite == sorted(best["pu_2sigma"].dropna().tolist())
    text = browser.find_element("tag name", "body").text
    assert "not significant" in text and "kim07" in text
    assert xrbid.__version__ in text


def test_images_report_in_chromium(browser, tmp_path):
    """The shipped GOODS-N example: detection and photometry in three filters, the CMD."""
    text = (ROOT / "examples" / "goodsn.toml").read_text()
    text = text.replace('"../testdata/', f'"{ROOT / "testdata"}/')
    text = text.replace('folder = "../demo-output/goodsn"', f'folder = "{tmp_path / "goodsn"}"')
    config = tmp_path / "goodsn.toml"
    config.write_text(text)
    result = run_galaxy(config)
    assert [s.step for s in result.steps] == ["optical", "photometry", "report"]
    browser.get(Path(tmp_path / "goodsn" / "report.html").as_uri())
    images = _images(browser)
    assert "colour-magnitude diagram" in [alt for alt, _, _ in images]
    assert all(done and width > 0 for _, done, width in images), images
    phot = xrbid.read_table(tmp_path / "goodsn" / "photometry.ecsv")
    assert _tables(browser) == {"photometry": len(phot)}
    assert {"f606w_mag", "f814w_mag", "f850lp_mag"} <= set(phot.columns)


def test_table_positions_tell_nearby_candidates_apart():
    import pandas as pd

    from xrbid.pipeline.report import _frame_table

    # two candidates 0.18" apart in RA at dec 54 deg (1e-4 deg * cos 54 = 0.21"), a NaN
    df = pd.DataFrame(
        {"ra": [210.80220, 210.80230, float("nan")], "dec": [54.34890, 54.34890, 54.3],
         "separation": [0.1359, 0.3782, 1.0]}
    )  # fmt: skip
    html = _frame_table(df, ["ra", "dec", "separation"], "t")
    assert ">210.802200<" in html and ">210.802300<" in html and ">54.348900<" in html
    assert ">54.300000<" in html and ">–<" in html
    assert ">0.1359<" in html  # other columns keep their 4 decimals


def _pairs_row(report):
    text = report.read_text(encoding="utf-8")
    # the row of the alignment section (the summary's is "alignment pairs used")
    start = text.index(">pairs used</th><td")
    start = text.index(">", start + len(">pairs used</th><td")) + 1
    return text[start : text.index("</td>", start)]


def test_report_says_why_calibrators_were_left_out(tmp_path, write_config):
    import numpy as np

    # WLS keeps calibrators whose row has theta < 10' (a row without theta is left out too)
    config = write_config(m101_toml(alignment='method = "wls"'))
    assert run_galaxy(config).ok
    cal = xrbid.read_table(tmp_path / "out" / "calibrators.ecsv")
    off = int((~(cal["theta"].to_numpy(float) < 10.0)).sum())
    assert off > 0
    row = _pairs_row(tmp_path / "out" / "report.html")
    assert row == (
        f"{len(cal) - off} of {len(cal)} calibrators; left out: {off} off-axis (θ ≥ 10′, or "
        "no θ in the row)"
    )
    # the median: the calibrators with no reference position within max_sep
    config = write_config(m101_toml(alignment='max_sep = "1arcsec"', folder="median"))
    assert run_galaxy(config).ok
    cal = xrbid.read_table(tmp_path / "median" / "calibrators.ecsv")
    ref = xrbid.read_regions(OPTICAL / "M101_astrocorrect.reg")
    dra = (cal["ra"].to_numpy()[:, None] - ref["ra"].to_numpy()[None, :]) * np.cos(
        np.radians(cal["dec"].to_numpy()[:, None])
    )
    ddec = cal["dec"].to_numpy()[:, None] - ref["dec"].to_numpy()[None, :]
    far = int((np.hypot(dra, ddec).min(axis=1) * 3600 > 1.0).sum())
    assert far > 0
    row = _pairs_row(tmp_path / "median" / "report.html")
    assert row == (
        f"{len(cal) - far} of {len(cal)} calibrators; left out: {far} no optical source "
        "within [alignment].max_sep"
    )
    # all used: nothing to explain
    config = write_config(m101_toml(folder="all"))
    assert run_galaxy(config).ok
    assert _pairs_row(tmp_path / "all" / "report.html") == "9 of 9 calibrators"
