"""The X-ray table from a CSC TAP query (recorded answer on a local replay server)."""

from __future__ import annotations

import pytest

from tests.conftest import TESTDATA
from xrbid.errors import ArchiveError
from xrbid.pipeline import run_galaxy

from ..recorded_archive import Reply, archive_fixture  # noqa: F401 (the `archive` fixture)
from .conftest import m101_toml

RECORDED = TESTDATA / "recorded" / "csc21-m101-observation-3arcmin.vot"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XRBID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XRBID_OFFLINE", raising=False)


def _query_config(url: str) -> str:
    text = m101_toml().replace("ra = 210.80243\ndec = 54.34875", "ra = 210.802427\ndec = 54.348751")
    start = text.index("[xray]")
    end = text.index("[calibrators]")
    query = f'[xray.query]\nrelease = "2.1"\nradius = "3arcmin"\nurl = "{url}"\n\n'
    return text[:start] + query + text[end:]


@pytest.mark.filterwarnings("ignore::astropy.units.UnitsWarning")  # erg/s/cm^2 in the answer
def test_query_then_rerun_without_asking_again(archive, tmp_path, write_config):
    archive.reply("/tap/sync", Reply(RECORDED.read_bytes()))
    config = write_config(_query_config(archive.url + "/tap"))
    res = run_galaxy(config, until="xray")
    summary = res.steps[0].summary
    # the recorded answer: 1007 detections of 108 sources within 180" (testdata/recorded)
    assert (summary["rows"], summary["sources"]) == (1007, 108)
    assert (tmp_path / "out" / "csc.ecsv").exists()
    assert "<= 3.00000000" in archive.requests[0][1]["QUERY"]
    # the query's parameters did not change: the saved answer is used, the service not asked
    again = run_galaxy(config, until="xray")
    assert again.steps[0].state == "up to date" and len(archive.requests) == 1
    # none of the guide's calibrators lies within 3': the calibrator step says which are missing
    with pytest.raises(Exception, match=r"step calibrators: \[calibrators\]\.ids: .*2CXO J140251"):
        run_galaxy(config, until="calibrators")
    assert len(archive.requests) == 1


def test_query_failure_is_one_line(archive, tmp_path, write_config):
    archive.reply("/tap/sync", Reply(b"Service Unavailable", 503, "text/plain"))
    config = write_config(_query_config(archive.url + "/tap"))
    with pytest.raises(ArchiveError) as err:
        run_galaxy(config, until="xray")
    assert str(err.value).startswith("M101: step xray: ") and "\n" not in str(err.value)
    assert not (tmp_path / "out" / "csc.ecsv").exists()
