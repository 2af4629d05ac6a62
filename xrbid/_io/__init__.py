"""Safe output files: atomic, no-clobber, all-or-nothing writes that never touch an input.

Every output is written to a temporary file in its own folder and only then committed under its
name. Committing a new file links the temporary file into place, which fails if the name has
appeared meanwhile, so two processes racing for the same new output cannot both succeed
(``os.link`` is atomic and never replaces). With ``overwrite`` the temporary file is renamed over
the old one (``os.replace``), so readers see either the whole old or the whole new file.

Several outputs of one step are committed together inside :func:`output_transaction`: all of
them appear, or none does (an output already replaced is put back).

Only regular files are written: a symbolic link, a FIFO, a device or a folder under the output's
name is refused, with or without ``overwrite``. A failure of the file system (disk full,
read-only folder, name too long) is an :class:`~xrbid.errors.OutputError` of one line; the
temporary file is removed and any old output is left as it was. SIGTERM and SIGHUP arriving
while a temporary file exists remove it before the process ends.

:func:`guard_paths` (used by the command line) names the files a command was given, so that an
output that is also one of its inputs, or another of its outputs, is refused.

The modules, one job each:

- ``paths.py``: which output paths may be written (`check_output`, `guard_paths`);
- ``write_errors.py``: failures of the file system as one-line `OutputError` messages;
- ``cleanup.py``: temporary files, removed on SIGTERM/SIGHUP and around a commit;
- ``commit.py``: putting staged files in place, all or none;
- ``outputs.py``: the writers (`atomic_output`, `output_transaction`, `write_text_atomic`);
- ``reading.py``: failures of reading an input as one-line `InputError` (`reading`,
  `input_error`).
"""

from .outputs import atomic_output, output_transaction, write_text_atomic
from .paths import check_output, guard_paths
from .reading import input_error, reading

__all__ = [
    "atomic_output",
    "check_output",
    "guard_paths",
    "input_error",
    "output_transaction",
    "reading",
    "write_text_atomic",
]
