"""Build scripts of geo_ms (not part of the installed package)."""
