"""How both archive clients ask a service (xrbid.archives._common.ask_archive): which address,
how long to wait, through the cache. Run through the real pyvo client against the local
replay server of recorded answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xrbid import archives
from xrbid.archives._common import ask_archive
from xrbid.archives.csc import _run_tap, csc_adql
from xrbid.errors import ArchiveError

from ..recorded_archive import Reply, archive_fixture  # noqa: F401 (the `archive` fixture)

ROOT = Path(__file__).resolve().parents[2]
CSC_ANSWER = (ROOT / "testdata" / "recorded" / "csc21-m101-master-3arcmin.vot").read_bytes()
QUERY = csc_adql(210.8024270, 54.3487510, 180.0, level="master")
ROWS = 108  # master sources in the recorded answer (one row each)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XRBID_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("XRBID_OFFLINE", "XRBID_TEST_TAP_URL", "XRBID_ARCHIVE_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def _ask(**kwargs):
    settings = {
        "url": None,
        "env": "XRBID_TEST_TAP_URL",
        "default_url": "http://127.0.0.1:9/nothing-listens-here",
        "fmt": "votable",
        "timeout": 5.0,
        "cache": False,
        "offline": None,
        "what": "CSC",
    }
    return ask_archive(QUERY, _run_tap, **{**settings, **kwargs})


def _serve(archive, path: str) -> str:
    archive.reply(f"{path}/sync", Reply(CSC_ANSWER))
    return archive.url + path


def test_the_address_given_wins_over_the_environment_and_the_default(archive, monkeypatch):
    given = _serve(archive, "/given")
    monkeypatch.setenv("XRBID_TEST_TAP_URL", _serve(archive, "/env"))
    table = _ask(url=given)
    assert len(table) == ROWS
    assert [path for path, _ in archive.requests] == ["/given/sync"]
    assert archive.requests[0][1]["QUERY"] == QUERY


def test_without_an_address_the_environment_wins_over_the_default(archive, monkeypatch):
    monkeypatch.setenv("XRBID_TEST_TAP_URL", _serve(archive, "/env"))
    assert len(_ask()) == ROWS
    assert [path for path, _ in archive.requests] == ["/env/sync"]


def test_without_address_or_environment_the_default_is_asked(archive):
    assert len(_ask(default_url=_serve(archive, "/default"))) == ROWS
    assert [path for path, _ in archive.requests] == ["/default/sync"]


def test_the_timeout_of_the_environment_applies_when_none_is_given(archive, monkeypatch):
    archive.reply("/slow/sync", Reply(CSC_ANSWER, delay=3.0))
    monkeypatch.setenv("XRBID_ARCHIVE_TIMEOUT", "0.5")
    with pytest.raises(ArchiveError, match=r"did not answer within 0\.5 s"):
        _ask(url=archive.url + "/slow", timeout=None)


def test_an_answer_is_kept_and_replayed_offline_for_the_same_service_only(archive, tmp_path):
    url = _serve(archive, "/tap")
    first = _ask(url=url, cache=tmp_path)
    again = _ask(url=url, cache=tmp_path, offline=True)
    assert len(archive.requests) == 1  # the second answer came from the cache
    np.testing.assert_array_equal(again["ra"], first["ra"])
    with pytest.raises(ArchiveError, match="offline mode: no cached CSC answer"):
        _ask(url=_serve(archive, "/other"), cache=tmp_path, offline=True)


def test_query_csc_takes_its_service_from_xrbid_csc_tap_url(archive, monkeypatch):
    monkeypatch.setenv("XRBID_CSC_TAP_URL", _serve(archive, "/csc-env"))
    df = archives.query_csc((210.8024270, 54.3487510), 180, level="master", cache=False)
    assert len(df) == ROWS
    assert archive.requests[-1][0] == "/csc-env/sync"
