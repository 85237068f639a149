"""Add N notes to a run, one journal write each (concurrency test)."""
import sys

from tui.core import runs

journal, run_id, who, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for i in range(n):
    runs.add_note(journal, run_id, f"{who}-{i}")
