"""A run is matched to its process by pid and create time.  psutil's create time is the start
since boot plus /proc/stat's ``btime``, whole seconds from the wall clock: a clock adjustment
across a whole second moves every create time by exactly 1 s, and a run must not read "lost"
while it runs.  Any other difference is another process (a reused pid)."""

from __future__ import annotations

import subprocess

from tui.core import procs


def test_a_create_time_one_second_off_is_the_same_process_and_others_are_not():
    p = subprocess.Popen(["sleep", "30"])
    try:
        ctime = procs.create_time(p.pid)
        assert ctime is not None
        for shift in (0.0, 0.03, -0.03, 1.0, -1.0, 1.04, -0.98):
            assert procs.matching_process(p.pid, ctime + shift) is not None, shift
        for shift in (0.2, -0.5, 0.5, 0.9, 1.2, 2.0, -2.0, 3600.0):
            assert procs.matching_process(p.pid, ctime + shift) is None, shift
    finally:
        p.kill()
        p.wait()
    assert procs.matching_process(p.pid, ctime) is None  # gone


def test_same_start():
    assert procs.same_start(100.0, 100.0) and procs.same_start(101.0, 100.0)
    assert procs.same_start(99.0, 100.0) and not procs.same_start(100.5, 100.0)
