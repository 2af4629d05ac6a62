"""Partial or failed TAP answers (OVERFLOW, ERROR, cut short) are refused and never cached.

A TAP service that reaches its row limit answers HTTP 200 with a valid VOTable whose only sign of
the cut is ``<INFO name="QUERY_STATUS" value="OVERFLOW"/>`` (IVOA DALI 1.1, sect. 4.4.1). The
answers here are the recorded real CSC and Gaia answers with that flag added, or cut in half.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xrbid import archives
from xrbid.errors import ArchiveError

from ..recorded_archive import Reply, archive_fixture  # noqa: F401 (the `archive` fixture)

ROOT = Path(__file__).resolve().parents[2]
CSC_ANSWER = (ROOT / "testdata" / "recorded" / "csc21-m101-master-3arcmin.vot").read_bytes()
GAIA_ANSWER = (
    ROOT / "testdata" / "gaia-dr3-astroquery" / "1710099405832VAL-result.vot"
).read_bytes()
M101 = (210.8024270, 54.3487510)
OVERFLOW = b'<INFO name="QUERY_STATUS" value="OVERFLOW"/>'


def _after_table(answer: bytes, info: bytes) -> bytes:
    """The answer with ``info`` added after its table, where services put a late status."""
    head, sep, tail = answer.rpartition(b"</TABLE>")
    assert sep, "the recorded answer has a TABLE"
    return head + sep + b"\n" + info + tail


def _status_replaced(answer: bytes, value: bytes) -> bytes:
    assert b'name="QUERY_STATUS" value="OK"' in answer
    return answer.replace(
        b'name="QUERY_STATUS" value="OK"', b'name="QUERY_STATUS" value="' + value + b'"'
    )


def _rows(answer: bytes) -> int:
    return answer.count(b"<TR>")


def _csc(archive, body: bytes, tmp_path: Path):
    archive.reply("/csc/sync", Reply(body))
    return archives.query_csc(M101, 180, level="master", url=archive.url + "/csc", cache=tmp_path)


def test_recorded_answer_is_complete_and_cached(archive, tmp_path):
    df = _csc(archive, CSC_ANSWER, tmp_path)
    assert len(df) == _rows(CSC_ANSWER) == 108
    assert len(list(tmp_path.glob("*.ecsv"))) == 1


@pytest.mark.parametrize(
    "body",
    [_after_table(CSC_ANSWER, OVERFLOW), _status_replaced(CSC_ANSWER, b"OVERFLOW")],
    ids=["status after the rows", "status before the rows"],
)
def test_csc_overflow_is_refused_and_not_cached(archive, tmp_path, body):
    with pytest.raises(ArchiveError, match=r"row limit after 108 rows .*OVERFLOW.*smaller radius"):
        _csc(archive, body, tmp_path)
    assert list(tmp_path.iterdir()) == []
    # an offline re-run cannot take the truncated table from the cache either
    with pytest.raises(ArchiveError, match="offline mode: no cached CSC answer"):
        archives.query_csc(M101, 180, level="master", cache=tmp_path, offline=True)


def test_csc_late_error_status_is_refused_and_not_cached(archive, tmp_path):
    body = _after_table(CSC_ANSWER, b'<INFO name="QUERY_STATUS" value="ERROR">disk full</INFO>')
    with pytest.raises(ArchiveError, match="CSC TAP service"):
        _csc(archive, body, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_csc_cut_short_answer_is_refused_and_not_cached(archive, tmp_path, fraction):
    body = CSC_ANSWER[: int(len(CSC_ANSWER) * fraction)]
    with pytest.raises(ArchiveError, match=r"cannot be read as a VOTable .*cut short"):
        _csc(archive, body, tmp_path)
    assert list(tmp_path.iterdir()) == []


def _gaia(archive, body: bytes, tmp_path: Path):
    archive.reply("/tap-server/tap/sync", Reply(body))
    return archives.query_gaia((280.0, -60.0), 72, url=archive.url + "/", cache=tmp_path)


def test_gaia_recorded_votable_is_complete_and_cached(archive, tmp_path):
    df = _gaia(archive, GAIA_ANSWER, tmp_path)
    assert len(df) == _rows(GAIA_ANSWER) > 0
    assert len(list(tmp_path.glob("*.ecsv"))) == 1


def test_gaia_overflow_is_refused_and_not_cached(archive, tmp_path):
    body = _after_table(GAIA_ANSWER, OVERFLOW)
    n = _rows(GAIA_ANSWER)
    with pytest.raises(ArchiveError, match=rf"Gaia archive .* row limit after {n} rows"):
        _gaia(archive, body, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_gaia_cut_short_votable_is_refused_and_not_cached(archive, tmp_path):
    body = GAIA_ANSWER[: len(GAIA_ANSWER) // 2]
    with pytest.raises(ArchiveError, match=r"cannot be read as votable .*cut short"):
        _gaia(archive, body, tmp_path)
    assert list(tmp_path.iterdir()) == []
