"""Benchmarks of the whole path on any corpus and question file of the attribution-dev format."""
