"""Text columns as text: FITS bytes decoded at reading, VOTable cells stripped as astropy does."""

from __future__ import annotations

import numpy as np
from astropy.io import votable
from astropy.table import Table
from click.testing import CliRunner

from xrbid.cli.main import cli
from xrbid.regions import format_regions
from xrbid.tables import read_table

NAMES = [b"2CXO J140312.5+542056", b"2CXO J140313.0+542100"]


def _fits_table(path):
    t = Table(
        {
            "name": np.array(NAMES, dtype="S22"),
            "flag": np.array([b"MARGINAL", b"TRUE"], dtype="S8"),
            "ra": [210.8, 210.9],
            "dec": [54.3, 54.4],
        }
    )
    t.write(path)
    return path


def test_fits_text_columns_are_str_not_bytes(tmp_path):
    table = read_table(_fits_table(tmp_path / "t.fits"))
    assert table["source_id"].tolist() == [n.decode() for n in NAMES]
    assert all(isinstance(v, str) for v in table["flag"])


def test_regions_write_of_a_fits_table_labels_the_names(tmp_path):
    src, out = _fits_table(tmp_path / "t.fits"), tmp_path / "t.reg"
    result = CliRunner().invoke(
        cli,
        [
            "regions",
            "write",
            str(src),
            "-o",
            str(out),
            "--radius",
            "1",
            "--label-column",
            "source_id",
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "text={2CXO J140312.5+542056}" in text and "b'" not in text


def test_format_regions_of_an_astropy_table_decodes_bytes(tmp_path):
    tab = Table.read(_fits_table(tmp_path / "t.fits"))
    assert tab["name"].dtype.kind == "S"  # astropy keeps FITS text as bytes
    text = format_regions(tab, radius=1.0, label_column="name")
    assert "text={2CXO J140313.0+542100}" in text and "b'" not in text


VOTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE><TABLE>
<FIELD name="name" datatype="char" arraysize="*"/>
<FIELD name="conf_code" datatype="char" arraysize="*"/>
<FIELD name="ra" datatype="double" unit="deg"/>
<FIELD name="dec" datatype="double" unit="deg"/>
<DATA><TABLEDATA>
{rows}</TABLEDATA></DATA>
</TABLE></RESOURCE>
</VOTABLE>
"""


def test_votable_cells_with_blanks_agree_with_astropy(tmp_path):
    row = "<TR><TD>2CXO J{i:06d}</TD><TD> MARGINAL </TD><TD>210.{i}</TD><TD>54.3</TD></TR>\n"
    path = tmp_path / "t.vot"
    path.write_text(VOTABLE.format(rows="".join(row.format(i=i) for i in range(200))))
    ours = read_table(path)
    theirs = votable.parse(str(path)).get_first_table().to_table()
    assert [str(v) for v in theirs["conf_code"]] == ["MARGINAL"] * 200  # astropy strips
    assert ours["conf_code"].tolist() == [str(v) for v in theirs["conf_code"]]
