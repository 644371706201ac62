"""Benchmarks of geo_ms's zonal statistics against exactextract (``make bench``)."""
