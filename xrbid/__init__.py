"""xrbid: optical counterparts of X-ray binaries in nearby galaxies.

The library is importable without Click, without DS9 and without network access; the command
line (``xrbid``) is a thin shell over it.
"""

from ._version import __version__
from .errors import XrbidError

__all__ = ["XrbidError", "__version__"]
