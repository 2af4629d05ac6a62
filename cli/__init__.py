"""The ``xrbid`` command line: a thin Click shell over the :mod:`xrbid` library."""
