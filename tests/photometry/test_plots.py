"""The colour-magnitude diagram of counterpart photometry."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from xrbid.errors import ColumnError
from xrbid.photometry import load_image, photometer_counterparts, plot_cmd


@pytest.fixture(scope="module")
def table(candels):
    images = {f: load_image(candels, ext=i) for i, f in ((1, "F606W"), (2, "F814W"))}
    cands = pd.DataFrame(
        {"source_id": ["A", "B"], "ra": [189.49242, 189.49269], "dec": [62.205808, 62.205767]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return photometer_counterparts(
            cands, images, radius=4.0, apcorr=None, system="ab", distance_modulus=29.0
        )


def test_cmd_plot_written_atomically(table, tmp_path):
    out = plot_cmd(table, tmp_path / "cmd.png", blue="F606W", red="F814W")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table["f606w_mag"].notna().all()
    with pytest.raises(Exception, match="exists"):
        plot_cmd(table, out, blue="F606W", red="F814W")
    with pytest.raises(ColumnError, match="f555w_mag"):
        plot_cmd(table, tmp_path / "x.png", blue="F555W", red="F814W")
    assert not (tmp_path / "x.png").exists()
    plot_cmd(table, tmp_path / "abs.pdf", blue="F606W", red="F814W", absolute=True)
    assert (tmp_path / "abs.pdf").read_bytes()[:4] == b"%PDF"
