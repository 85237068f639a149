"""Incremental reading: partial lines, truncation, huge lines, cache, a live appender process."""

import os
import subprocess
import sys
import time
import tracemalloc

from hypothesis import HealthCheck, given, settings, strategies as st

from tui.core.metrics import CACHE_NAME, LogMetrics, RunMetrics


def test_partial_line_waits_for_newline(tmp_path):
    p = tmp_path / "output.log"
    p.write_bytes(b"step 1 loss 0.5\nstep 2 loss 0.4\nstep 3 lo")
    m = LogMetrics(p)
    assert m.poll()
    assert list(m.series["loss"].y) == [0.5, 0.4]
    assert not m.poll()
    with open(p, "ab") as f:
        f.write(b"ss 0.3\n")
    assert m.poll()
    assert list(m.series["loss"].y) == [0.5, 0.4, 0.3]


def test_truncated_and_replaced_log_is_reread(tmp_path):
    p = tmp_path / "output.log"
    p.write_text("step 1 loss 5\nstep 2 loss 4\nstep 3 loss 3\n")
    m = LogMetrics(p)
    m.poll()
    p.write_text("step 1 loss 9\nstep 2 loss 8\n")  # shrink, same inode
    assert m.poll()
    assert list(m.series["loss"].y) == [9, 8]
    q = tmp_path / "new.log"
    q.write_text("step 1 loss 7\nstep 2 loss 6\nstep 3 loss 5\nstep 4 loss 4\n")
    os.replace(q, p)  # replaced, bigger
    assert m.poll()
    assert list(m.series["loss"].y) == [7, 6, 5, 4]
    p.write_text("step 1 loss 1\nstep 2 loss 2\nstep 3 loss 3\nstep 4 loss 4\nstep 5 loss 5\n")  # rewritten, grew
    m.poll()
    assert list(m.series["loss"].y) == [1, 2, 3, 4, 5]


def test_huge_line_without_newline_bounded_memory(tmp_path):
    p = tmp_path / "output.log"
    with open(p, "wb") as f:
        f.write(b"step 1 loss 1\nstep 2 loss 2\n")
        block = b"x" * (1 << 20)
        for _ in range(40):  # 40 MB, no newline
            f.write(block)
    m = LogMetrics(p)
    tracemalloc.start()
    m.poll()
    with open(p, "ab") as f:
        f.write(b"yyy loss 9\nstep 3 loss 3\n")
    m.poll()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 24 << 20
    assert list(m.series["loss"].y) == [1, 2, 3]


def test_cache_reopen_is_identical_and_skips_parsing(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    log = run / "output.log"
    log.write_text("".join(f"step {i} loss {1 / (i + 1):.6f} acc {i / 3000:.4f}\n" for i in range(3000)))
    a = RunMetrics(run)
    a.poll()
    a.save_cache()
    assert (run / CACHE_NAME).exists()
    b = RunMetrics(run)
    b._log = None
    b.poll()
    assert b._log.tail.offset == log.stat().st_size
    assert {k: (list(s.x), list(s.y), list(s.wall)) for k, s in a.series.items()} == \
           {k: (list(s.x), list(s.y), list(s.wall)) for k, s in b.series.items()}
    # a stale cache (file rewritten) is not used
    log.write_text("step 1 loss 3\nstep 2 loss 2\n" + "step 3 loss 1\n" * 5000)
    c = RunMetrics(run)
    c.poll()
    assert list(c.series["loss"].y[:2]) == [3, 2] and "acc" not in c.series


def test_cache_garbage_is_ignored(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "output.log").write_text("step 1 loss 3\nstep 2 loss 2\n")
    (run / CACHE_NAME).write_bytes(b"LTMC2\n\xff\xff\xff\x00garbage")
    m = RunMetrics(run)
    m.poll()
    assert list(m.series["loss"].y) == [3, 2]


APPENDER = r"""
import sys, time, random
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
with open(path, "ab", buffering=0) as f:
    for i in range(n):
        line = f"step {i} loss {i * 0.5} acc={i}\n".encode()
        k = rnd.randrange(len(line))
        f.write(line[:k]); f.write(line[k:])   # lines arrive in two writes
        if i % 200 == 0:
            time.sleep(0.01)
"""


def test_appender_process_while_reader_tails(tmp_path):
    p = tmp_path / "output.log"
    p.write_bytes(b"")
    n = 6000
    proc = subprocess.Popen([sys.executable, "-c", APPENDER, str(p), str(n)])
    m = LogMetrics(p)
    polls = 0
    deadline = time.time() + 30
    while proc.poll() is None and time.time() < deadline:
        m.poll()
        polls += 1
        time.sleep(0.002)
    proc.wait(10)
    m.poll()
    assert polls > 3
    assert list(m.series["loss"].x) == [float(i) for i in range(n)]
    assert list(m.series["acc"].y) == [float(i) for i in range(n)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=4000), st.lists(st.integers(0, 4000), max_size=6))
def test_random_bytes_and_partial_writes_never_crash(tmp_path, data, cuts):
    p = tmp_path / "fuzz.log"
    p.write_bytes(b"")
    m = LogMetrics(p)
    prev = 0
    for c in sorted(set(cuts)) + [len(data)]:
        with open(p, "ab") as f:
            f.write(data[prev:c])
        prev = max(prev, c)
        m.poll()
    whole = LogMetrics(p)
    whole.poll()
    # chunking never changes the result
    assert {k: list(s.y) for k, s in m.series.items()}.keys() == {k: list(s.y) for k, s in whole.series.items()}.keys()
    for s in m.series.values():
        assert len(s.x) == len(s.y) == len(s.wall)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["step {i} loss {v}", "Epoch[{i}](3/9): Loss_D: {v}", "{{'loss': {v}}}",
                                 "\x1b[31mwarn\x1b[0m", "Traceback (most recent call last):", "  File x",
                                 "E: 1", "iter {i}: acc={v}", "\u635f\u5931: {v}", ""]), max_size=40),
       st.integers(1, 50))
def test_split_points_do_not_change_series(tmp_path, kinds, step):
    text = "".join(k.format(i=i, v=i * 0.25) + "\n" for i, k in enumerate(kinds)).encode()
    p = tmp_path / "s.log"
    p.write_bytes(b"")
    m = LogMetrics(p)
    for a in range(0, len(text), step):
        with open(p, "ab") as f:
            f.write(text[a:a + step])
        m.poll()
    whole = LogMetrics(p)
    whole.poll()
    assert {k: (list(s.x), list(s.y)) for k, s in m.series.items()} == \
           {k: (list(s.x), list(s.y)) for k, s in whole.series.items()}
