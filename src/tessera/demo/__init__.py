"""`tessera demo`: the whole loop on the embedded defaults, for a first look."""

from tessera.demo.walkthrough import run_demo

__all__ = ["run_demo"]
