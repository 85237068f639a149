"""``labtui`` command line: one module per group of verbs (see main.py)."""

from .main import main

__all__ = ["main"]
