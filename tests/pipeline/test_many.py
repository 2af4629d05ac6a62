"""Several galaxies on dask: parallel results equal serial ones; a failure is reported alone."""

from __future__ import annotations

import gc
import json
import socket
import threading
import time

import pytest

from xrbid.errors import InputError
from xrbid.pipeline import many, run_many
from xrbid.pipeline.state import STATE_DIR

from .conftest import M101_CALIBRATORS, m101_toml


def _outputs(folder):
    """Hash of every output each step recorded (the report, which has a date, left out)."""
    out = {}
    for manifest in sorted((folder / STATE_DIR).glob("*.json")):
        data = json.loads(manifest.read_text())
        if data["step"] != "report":
            out.update(data["outputs"])
    return out


def test_three_galaxies_on_two_workers_one_failing(tmp_path):
    configs = []
    for name, ids in [
        ("a", M101_CALIBRATORS),
        ("b", [*M101_CALIBRATORS[:4], "2CXO J999999.9+999999"]),  # not in the table
        ("c", M101_CALIBRATORS[:6]),
    ]:
        path = tmp_path / f"{name}.toml"
        path.write_text(m101_toml(ids=ids, folder=f"out_{name}").replace('"M101"', f'"G{name}"'))
        configs.append(path)
    seen = []
    results = run_many(configs, workers=2, on_result=seen.append)
    assert [r.name for r in results] == ["Ga", "Gb", "Gc"]
    assert [r.ok for r in results] == [True, False, True]
    assert len(seen) == 3
    bad = results[1]
    assert bad.failed_step == "calibrators"
    assert bad.error.startswith("Gb: step calibrators: [calibrators].ids:")
    assert "2CXO J999999.9+999999" in bad.error and "\n" not in bad.error
    # the summary counts the step that ran (and was kept) before the failure
    assert [(s.step, s.state) for s in bad.steps] == [("xray", "ran")]
    assert (tmp_path / "out_b" / "xray_sources.reg").exists()
    assert (tmp_path / "out_a" / "report.html").exists()
    assert (tmp_path / "out_c" / "report.html").exists()
    assert not (tmp_path / "out_b" / "report.html").exists()
    assert results[2].counts()["calibrators"] == 6

    # the same galaxies one after the other in this process: identical outputs
    serial = [tmp_path / "serial_a.toml", tmp_path / "serial_c.toml"]
    for src, dst in zip([configs[0], configs[2]], serial):
        dst.write_text(src.read_text().replace('folder = "out_', 'folder = "serial_'))
    again = run_many(serial, workers=1)
    assert all(r.ok for r in again)
    assert _outputs(tmp_path / "serial_a") == _outputs(tmp_path / "out_a")
    assert _outputs(tmp_path / "serial_c") == _outputs(tmp_path / "out_c")


def test_invalid_config_among_many_and_shared_folders(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(m101_toml(folder="out_good"))
    bad = tmp_path / "bad.toml"
    bad.write_text(m101_toml(alignment='method = "mean"', folder="out_bad"))
    results = run_many([good, bad], workers=1, until="calibrators")
    assert results[0].ok and not results[1].ok
    assert results[1].error.startswith(f"{bad}: [alignment].method")
    twin = tmp_path / "twin.toml"
    twin.write_text(m101_toml(folder="out_good"))
    with pytest.raises(InputError, match="both write to"):
        run_many([good, twin], workers=1)
    with pytest.raises(InputError, match="at least 1"):
        run_many([good], workers=0)


def test_unreachable_scheduler_is_one_line(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(m101_toml())
    with pytest.raises(InputError, match=r"no dask scheduler answers at tcp://127\.0\.0\.1:1"):
        run_many([good], scheduler="tcp://127.0.0.1:1")


@pytest.mark.parametrize("address", ["bogus!!", "nowhere://x:1", ""])
def test_scheduler_that_is_not_an_address_is_one_line(tmp_path, address):
    good = tmp_path / "good.toml"
    good.write_text(m101_toml())
    with pytest.raises(InputError, match="no dask scheduler answers at") as err:
        run_many([good], scheduler=address)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()
    # the client that failed is gone: left to the cyclic collector, its __del__ could run
    # inside a later Client's start and deadlock on distributed's loop lock
    from dask.distributed import Client

    assert [o for o in gc.get_objects() if isinstance(o, Client)] == []


def test_scheduler_address_of_another_kind_of_server_is_one_line(tmp_path, monkeypatch):
    """A server that accepts the connection and waits for a request (a web server, say)."""
    good = tmp_path / "good.toml"
    good.write_text(m101_toml())
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
    thread.start()
    monkeypatch.setattr(many, "CONNECT_TIMEOUT", 0.5)
    port = server.getsockname()[1]
    t0 = time.perf_counter()
    try:
        with pytest.raises(InputError, match="no answer in dask's protocol") as err:
            run_many([good], scheduler=f"tcp://127.0.0.1:{port}")
    finally:
        server.close()
        for conn, _ in accepted:
            conn.close()
    assert time.perf_counter() - t0 < 10  # it waited for ever
    assert accepted  # it did reach the server
    assert "\n" not in str(err.value)


def test_on_a_running_dask_scheduler(tmp_path):
    from dask.distributed import LocalCluster

    configs = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.toml"
        path.write_text(m101_toml(folder=f"out_{name}").replace('"M101"', f'"G{name}"'))
        configs.append(path)
    with LocalCluster(
        n_workers=1, processes=False, threads_per_worker=2, dashboard_address="127.0.0.1:0"
    ) as cluster:
        results = run_many(configs, scheduler=cluster.scheduler_address, until="align")
    assert [r.ok for r in results] == [True, True]
    assert _outputs(tmp_path / "out_a") == _outputs(tmp_path / "out_b")
    assert results[0].counts()["calibrators"] == 9
