"""Journeys in a real headless browser: a package, so that its conftest does not shadow
tests/web/conftest.py, which the modules beside it import as `conftest`."""
