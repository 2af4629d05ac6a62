"""Sphinx configuration of the xrbid user guide (Markdown pages through MyST)."""

from xrbid import __version__

project = "xrbid"
version = release = __version__
extensions = ["myst_parser"]
myst_enable_extensions = ["colon_fence"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "alabaster"
