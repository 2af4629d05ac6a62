"""CSC and Gaia queries replayed from recorded answers through the real pyvo/astroquery clients."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from xrbid import archives
from xrbid.archives._common import _center
from xrbid.archives.gaia import _gaia_frame
from xrbid.errors import ArchiveError, InputError

from .recorded_archive import Reply, archive_fixture  # noqa: F401 (the `archive` fixture)

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "testdata" / "recorded"
GAIA = ROOT / "testdata" / "gaia-dr3-astroquery"
M101_CENTRE = (210.8024270, 54.3487510)  # recovered from the export (testdata/recorded)
GAIA_FILES = {
    "votable": ("1710099405832VAL-result.vot", "application/x-votable+xml"),
    "ecsv": ("1712337806100O-result.ecsv", "text/plain"),
    "json": ("cone_search.json", "application/json"),
}
EMPTY_TAP_ANSWER = b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/>
<TABLE>
<FIELD name="name" datatype="char" arraysize="*"/>
<FIELD name="ra" datatype="double" unit="deg"/>
<FIELD name="dec" datatype="double" unit="deg"/>
<FIELD name="theta" datatype="double" unit="arcmin"/>
<FIELD name="src_cnts_aper_b" datatype="double" unit="count"/>
<DATA><TABLEDATA></TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>
"""
TAP_ERROR_ANSWER = b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE type="results">
<INFO name="QUERY_STATUS" value="ERROR">Column 'o.thetta' does not exist</INFO>
</RESOURCE></VOTABLE>
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test gets its own cache folder and no offline setting from the environment."""
    monkeypatch.setenv("XRBID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XRBID_OFFLINE", raising=False)


def _m101_rows(max_sep: float = 180.0) -> Table:
    t = Table.read(
        ROOT / "testdata" / "csc-m101" / "cscresults_M101.vot",
        format="votable",
        use_names_over_ids=True,
    )
    return t[np.asarray(t["separation"]) <= max_sep]


def _serve_csc(archive, name: str) -> str:
    archive.reply("/csc21tap/sync", Reply((RECORDED / name).read_bytes()))
    return archive.url + "/csc21tap"


def _serve_gaia(archive) -> str:
    def answer(fields: dict[str, str]) -> Reply:
        name, ctype = GAIA_FILES[fields["FORMAT"]]
        return Reply((GAIA / name).read_bytes(), 200, ctype)

    archive.reply("/tap-server/tap/sync", answer)
    return archive.url + "/"


# ----------------------------------------------------------------------------------- CSC


def test_csc_observation_level_replays_real_m101_rows(archive):
    url = _serve_csc(archive, "csc21-m101-observation-3arcmin.vot")
    df = archives.query_csc(M101_CENTRE, 3 * u.arcmin, url=url)
    truth = _m101_rows()
    assert len(df) == len(truth) == 1007
    assert list(df["source_id"]) == [str(n) for n in truth["name"]]
    np.testing.assert_array_equal(df["ra"], truth["ra"])
    np.testing.assert_array_equal(df["dec"], truth["dec"])
    # per-detection off-axis angle (arcmin) and counts: what the radii need
    np.testing.assert_array_equal(df["theta"], np.asarray(truth["theta_mean"], float))
    np.testing.assert_array_equal(df["counts"], np.asarray(truth["src_cnts_aper_b"], float))
    np.testing.assert_array_equal(df["err_r0"], truth["err_ellipse_r0"])


def test_csc_query_text_is_a_cone_on_the_observation_tables(archive):
    url = _serve_csc(archive, "csc21-m101-observation-3arcmin.vot")
    archives.query_csc(SkyCoord(*M101_CENTRE, unit="deg"), 180, url=url)
    (path, fields) = archive.requests[0]
    assert path == "/csc21tap/sync"
    assert fields["LANG"] == "ADQL" and fields["REQUEST"] == "doQuery"
    q = fields["QUERY"]
    assert "dbo.cone_distance(m.ra, m.dec, 210.80242700, 54.34875100) <= 3.00000000" in q
    assert "csc21.observation_source o" in q and "o.theta" in q and "o.src_cnts_aper_b" in q


def test_csc_master_level(archive):
    url = _serve_csc(archive, "csc21-m101-master-3arcmin.vot")
    df = archives.query_csc(M101_CENTRE, 3 * u.arcmin, level="master", url=url)
    assert len(df) == df["source_id"].nunique() == 108
    q = archive.requests[0][1]["QUERY"]
    assert "FROM csc21.master_source m WHERE" in q and "observation_source" not in q


def test_csc_release_selects_schema_and_unknown_release_is_refused():
    assert "csc2.master_source" in archives.csc_adql(1.0, 2.0, 60, release="2.0")
    with pytest.raises(InputError, match=r"unknown CSC release '3\.0'"):
        archives.query_csc((1.0, 2.0), 60, release="3.0", cache=False)
    with pytest.raises(InputError, match="unknown CSC level"):
        archives.csc_adql(1.0, 2.0, 60, level="stack")


def test_csc_empty_answer_gives_empty_canonical_table(archive):
    archive.reply("/csc/sync", Reply(EMPTY_TAP_ANSWER))
    df = archives.query_csc((0.5, -89.0), 10, url=archive.url + "/csc")
    assert len(df) == 0
    assert {"source_id", "ra", "dec", "theta", "counts"} <= set(df.columns)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(b"Internal Server Error", 500, "text/plain"), "answered HTTP 500"),
        (Reply(TAP_ERROR_ANSWER, 400), "rejected the query: .*o.thetta"),
        (Reply(TAP_ERROR_ANSWER, 200), "rejected the query: .*o.thetta"),
        (
            Reply(b"<html><body>maintenance</body></html>", 200, "text/html"),
            "cannot be read as a VOTable",
        ),
    ],
)
def test_csc_error_answers_are_clear(archive, reply, message):
    archive.reply("/csc/sync", reply)
    with pytest.raises(ArchiveError, match=message):
        archives.query_csc((10.0, 10.0), 30, url=archive.url + "/csc")


def test_csc_timeout(archive):
    archive.reply("/csc/sync", Reply(EMPTY_TAP_ANSWER, delay=1.5))
    with pytest.raises(ArchiveError, match=r"did not answer within 0.2 s"):
        archives.query_csc((10.0, 10.0), 30, url=archive.url + "/csc", timeout=0.2)


def test_csc_unreachable_service():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ArchiveError, match="cannot reach the CSC TAP service"):
        archives.query_csc((10.0, 10.0), 30, url=f"http://127.0.0.1:{port}/csc", cache=False)


def test_cache_answers_offline_and_offline_without_cache_fails(archive, monkeypatch):
    url = _serve_csc(archive, "csc21-m101-master-3arcmin.vot")
    first = archives.query_csc(M101_CENTRE, 180, level="master", url=url)
    monkeypatch.setenv("XRBID_OFFLINE", "1")
    again = archives.query_csc(M101_CENTRE, 180, level="master", url=url)
    assert len(archive.requests) == 1  # the second answer came from the cache
    assert list(again["source_id"]) == list(first["source_id"])
    np.testing.assert_array_equal(again["ra"], first["ra"])
    with pytest.raises(ArchiveError, match="offline mode: no cached CSC answer"):
        archives.query_csc(M101_CENTRE, 181, level="master", url=url)
    assert len(archive.requests) == 1


def test_cache_folder_argument(archive, tmp_path):
    url = _serve_csc(archive, "csc21-m101-master-3arcmin.vot")
    folder = tmp_path / "elsewhere"
    archives.query_csc(M101_CENTRE, 180, level="master", url=url, cache=folder)
    assert len(list(folder.glob("*.ecsv"))) == 1
    archives.query_csc(M101_CENTRE, 180, level="master", url=url, cache=folder, offline=True)
    with pytest.raises(ArchiveError, match="offline"):
        archives.query_csc(M101_CENTRE, 180, level="master", url=url, cache=False, offline=True)


def test_bad_centre_and_radius():
    with pytest.raises(InputError, match=r"centre Dec 95 is outside \[-90, 90\] degrees"):
        archives.query_csc((10.0, 95.0), 30, cache=False)
    with pytest.raises(InputError, match="positive angle"):
        archives.query_gaia((10.0, 10.0), -1 * u.arcsec, cache=False)


@pytest.mark.parametrize(
    ("ra", "dec", "message"),
    [
        (410.8, 54.35, r"centre RA 410.8 is outside \[0, 360\] degrees"),
        (-0.5, 54.35, r"centre RA -0.5 is outside \[0, 360\]"),
        (float("nan"), 54.35, r"centre RA nan is outside"),
        (210.8, -90.5, r"centre Dec -90.5 is outside \[-90, 90\]"),
    ],
)
def test_centre_out_of_range_is_rejected_not_wrapped(ra, dec, message):
    """No request is made: the service address is unreachable and would fail differently."""
    for query in (archives.query_csc, archives.query_gaia):
        with pytest.raises(InputError, match=message):
            query((ra, dec), 30, cache=False, url="http://127.0.0.1:9/none")


def test_centre_on_the_range_edges_is_accepted():
    assert _center((360.0, 90.0)) == (0.0, 90.0)
    assert _center((0.0, -90.0)) == (0.0, -90.0)


# ----------------------------------------------------------------------------------- Gaia


@pytest.mark.parametrize("fmt", ["votable", "ecsv", "json"])
def test_gaia_answers_in_each_format_parse_to_the_file_values(archive, fmt):
    url = _serve_gaia(archive)
    df = archives.query_gaia((280.0, -60.0), 1 * u.arcmin, url=url, output_format=fmt)
    name = GAIA_FILES[fmt][0]
    if fmt == "json":
        import json

        raw = json.loads((GAIA / name).read_text())
        cols = [m["name"] for m in raw["metadata"]]
        ids = [str(row[cols.index("source_id")]) for row in raw["data"]]
        ra = [row[cols.index("ra")] for row in raw["data"]]
    else:
        if fmt == "votable":
            t = Table.read(GAIA / name, format="votable", use_names_over_ids=True)
        else:
            t = Table.read(GAIA / name, format="ascii.ecsv")
        ids, ra = [str(v) for v in t["source_id"]], list(t["ra"])
    assert list(df["source_id"]) == ids
    np.testing.assert_array_equal(df["ra"], ra)  # no epoch asked: catalogue positions
    fields = archive.requests[0][1]
    assert fields["FORMAT"] == fmt
    assert (
        "CIRCLE('ICRS', 280.00000000, -60.00000000, 0.01666667)" in fields["QUERY"]
        and "FROM gaiadr3.gaia_source" in fields["QUERY"]
    )


def test_gaia_epoch_propagation_matches_hand_calculation(archive):
    url = _serve_gaia(archive)
    df = archives.query_gaia((280.0, -60.0), 60, url=url, output_format="ecsv", epoch="2005-03-07")
    t = Table.read(GAIA / "1712337806100O-result.ecsv", format="ascii.ecsv")
    # J2016.0 = JD 2457389.0; 2005-03-07 0h = JD 2453436.5  -> dt in Julian years
    dt = (2453436.5 - 2457389.0) / 365.25
    pmra = np.ma.filled(t["pmra"].astype(float), np.nan)
    pmdec = np.ma.filled(t["pmdec"].astype(float), np.nan)
    has_pm = np.isfinite(pmra)
    assert has_pm.sum() >= 3 and (~has_pm).sum() >= 1  # real file: some stars lack motions
    dec0 = np.asarray(t["dec"], float)
    expect_dec = dec0 + np.where(has_pm, pmdec, 0) * dt / 3.6e6
    expect_ra = np.asarray(t["ra"], float) + np.where(has_pm, pmra, 0) * dt / 3.6e6 / np.cos(
        np.radians(dec0)
    )
    mas = 3.6e6
    np.testing.assert_allclose(df["dec"] * mas, expect_dec * mas, atol=0.05)
    np.testing.assert_allclose(
        (df["ra"] - expect_ra) * np.cos(np.radians(dec0)) * mas, 0, atol=0.05
    )
    assert list(df["pm_missing"]) == list(~has_pm)
    np.testing.assert_array_equal(df["ra_catalog"], t["ra"])
    assert df["epoch"].iloc[0] == pytest.approx(2005.18, abs=0.01)


def test_gaia_http_error_timeout_and_offline(archive, monkeypatch):
    archive.reply("/tap-server/tap/sync", Reply(TAP_ERROR_ANSWER, 500, "application/x-votable+xml"))
    with pytest.raises(ArchiveError, match=r"Gaia archive .* rejected the query"):
        archives.query_gaia((10.0, 10.0), 30, url=archive.url + "/")
    archive.reply("/tap-server/tap/sync", Reply(EMPTY_TAP_ANSWER, delay=1.5))
    with pytest.raises(ArchiveError, match=r"did not answer within 0\.2 s"):
        archives.query_gaia((10.0, 10.0), 30, url=archive.url + "/", timeout=0.2)
    monkeypatch.setenv("XRBID_OFFLINE", "yes")
    n = len(archive.requests)
    with pytest.raises(ArchiveError, match="offline mode: no cached Gaia answer"):
        archives.query_gaia((10.0, 10.0), 30, url=archive.url + "/")
    assert len(archive.requests) == n


def test_gaia_answer_without_positions_is_refused(archive):
    archive.reply("/tap-server/tap/sync", Reply(EMPTY_TAP_ANSWER.replace(b'"ra"', b'"x"')))
    with pytest.raises(ArchiveError, match="lacks column"):
        archives.query_gaia((10.0, 10.0), 30, url=archive.url + "/")


def test_bad_epoch():
    df = _gaia_frame(Table.read(GAIA / "1712337806100O-result.ecsv"))
    with pytest.raises(InputError, match="not a date"):
        archives.propagate_gaia(df, "last tuesday")


def test_gaia_unreadable_answer(archive):
    archive.reply("/tap-server/tap/sync", Reply(b"<html>down for maintenance</html>", 200))
    with pytest.raises(ArchiveError, match="cannot be read as votable"):
        archives.query_gaia((10.0, 10.0), 30, url=archive.url + "/")
