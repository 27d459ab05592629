"""Errors have one home: every exception type Tessera defines lives in `tessera._errors`,
derives from `TesseraError` and is exported from `tessera`, so a caller can catch any of them
from the one public door."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import tessera
from tessera import TesseraError


def _all_modules() -> list[str]:
    names = ["tessera"]
    for info in pkgutil.walk_packages(tessera.__path__, "tessera."):
        names.append(info.name)
    return names


def _defined_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in _all_modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == name:
                found[f"{name}.{value.__qualname__}"] = value
    return found


def test_every_exception_lives_in_errors_and_derives_from_the_root():
    found = _defined_exceptions()
    assert "tessera._errors.NodeError" in found  # the walk reaches the errors module
    stray = sorted(name for name in found if not name.startswith("tessera._errors."))
    assert not stray, f"define these in tessera/_errors.py instead: {stray}"
    orphans = sorted(n for n, cls in found.items() if not issubclass(cls, TesseraError))
    assert not orphans, f"these do not derive from TesseraError: {orphans}"


def test_every_error_is_exported_from_the_package():
    from tessera import _errors

    defined = {
        name
        for name, value in inspect.getmembers(_errors, inspect.isclass)
        if issubclass(value, BaseException) and value.__module__ == _errors.__name__
    }
    assert len(defined) >= 10
    missing = sorted(defined - set(tessera.__all__))
    assert not missing, f"add to tessera.__all__: {missing}"
    for name in defined:
        assert getattr(tessera, name) is getattr(_errors, name)
