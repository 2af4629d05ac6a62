"""What a local dask worker of ``xrbid run`` imports before its first galaxy.

The worker processes are forked from one server process that imported this module once
(`many.py`), instead of each importing pandas, astropy and matplotlib on its own. The list
is what a galaxy with tables (ECSV, Parquet, VOTable) and region files imports; a module
missing here is imported by the worker when a step needs it (scipy.spatial for large
matches, photutils for images), and one that is not installed (pyarrow is optional) is left
out.
"""

import importlib

MODULES = [
    "astropy.coordinates",  # ECSV metadata (astropy.table's YAML reader)
    "astropy.io.ascii",  # ECSV inputs
    "astropy.table",  # (with astropy.units)
    "erfa",
    "matplotlib.figure",
    "matplotlib.patches",
    "pyarrow.dataset",  # Parquet inputs
    "pyarrow.parquet",
    "xrbid._ecsv",
    "xrbid.align",
    "xrbid.figures",
    "xrbid.regions",
    "xrbid.selection",
    "xrbid.sky",
    "xrbid.tables",
    "xrbid.uncertainty",
    "xrbid.pipeline.steps",
    "xrbid.pipeline.many",
    "dask.multiprocessing",  # what the worker runs a dask task with
]

for _name in MODULES:
    try:
        importlib.import_module(_name)
    except ImportError:
        pass
