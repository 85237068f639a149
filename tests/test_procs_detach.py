"""procs.spawn_detached: a fully detached process (own session, stdio on /dev/null, no other fd,
not our child), started without waiting for more than its exec."""

from __future__ import annotations

import json
import os
import sys

import psutil

from tui.core.procs import spawn_detached

from .conftest import wait_for

REPORT = r"""
import json, os, sys
fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
doc = {"pid": os.getpid(), "sid": os.getsid(0), "pgid": os.getpgid(0), "cwd": os.getcwd(),
       "fds": fds, "stdin": os.readlink("/proc/self/fd/0"), "env": os.environ.get("DETACH_TEST"),
       "argv": sys.argv[1:]}
with open("report.tmp", "w") as f:
    json.dump(doc, f)
os.rename("report.tmp", "report.json")
"""


def test_spawn_detached_starts_a_process_of_its_own(tmp_path):
    leak = open(tmp_path / "held", "w")  # an fd of ours, even an inheritable one, is not passed on
    os.set_inheritable(leak.fileno(), True)
    try:
        pid = spawn_detached([sys.executable, "-c", REPORT, "a b"], cwd=tmp_path,
                             env=dict(os.environ, DETACH_TEST="yes"))
    finally:
        leak.close()
    assert pid is not None
    try:  # never our child: the intermediate process was reaped before spawn_detached returned
        assert psutil.Process(pid).ppid() != os.getpid()
    except psutil.NoSuchProcess:
        pass
    assert not [c for c in psutil.Process().children() if c.status() == psutil.STATUS_ZOMBIE]
    report = tmp_path / "report.json"
    wait_for(report.exists, "the detached process's report")
    doc = json.loads(report.read_text())
    assert doc["pid"] == pid and doc["argv"] == ["a b"] and doc["env"] == "yes"
    assert doc["sid"] != os.getsid(0) and doc["pgid"] != os.getpgid(0) and doc["sid"] != pid
    assert doc["cwd"] == str(tmp_path) and doc["stdin"] == os.devnull
    assert doc["fds"][:3] == [0, 1, 2] and len(doc["fds"]) <= 4  # (+ the one listdir holds)


def test_spawn_detached_says_when_nothing_could_start(tmp_path):
    assert spawn_detached([str(tmp_path / "no-such-program")]) is None
    assert not [c for c in psutil.Process().children() if c.status() == psutil.STATUS_ZOMBIE]
