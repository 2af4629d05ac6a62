"""Session fixtures that start Xvfb and a real SAOImage DS9 (filled in by the DS9 tests)."""
