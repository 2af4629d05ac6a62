"""Reference catalogues from the archives: the Chandra Source Catalog (TAP) and Gaia.

Both queries keep the archive's answer in an on-disk cache (one ECSV file per query, named by a
hash of the service address and the query text) and honour an offline mode, in which only the
cache is used and a query it cannot answer fails with a message that says so.

Settings
--------
``XRBID_CACHE_DIR``
    Folder of the cache (default ``~/.cache/xrbid``, or ``$XDG_CACHE_HOME/xrbid``).
``XRBID_OFFLINE``
    ``1`` (or ``true``/``yes``) to never contact an archive.
``XRBID_CSC_TAP_URL``, ``XRBID_GAIA_TAP_URL``
    Other service addresses (a mirror, or a local server replaying recorded answers).
``XRBID_ARCHIVE_TIMEOUT``
    Seconds to wait for an answer (default 120).
"""

from .cache import cache_dir, is_offline
from .csc import CSC_RELEASES, csc_adql, query_csc
from .gaia import GAIA_RELEASES, gaia_adql, propagate_gaia, query_gaia

__all__ = [
    "CSC_RELEASES",
    "GAIA_RELEASES",
    "cache_dir",
    "csc_adql",
    "gaia_adql",
    "is_offline",
    "propagate_gaia",
    "query_csc",
    "query_gaia",
]
