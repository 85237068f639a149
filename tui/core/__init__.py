"""Textual-free core of labtui: journal, runs, metrics, gpus.

Nothing under tui.core may import textual (a test enforces it).
"""
