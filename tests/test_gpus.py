"""tui.core.gpus: none path for real, NVML through a stub pynvml, attribution with real processes,
history bounds, --gpus resolution. The only fake is the GPU source (fake JSON / stub pynvml)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tui.core import gpus as G
from tui.core.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
STUB = Path(__file__).resolve().parent / "stub_pynvml"
GiB = 1024 ** 3


# ----------------------------------------------------------------- helpers
def fake_gpu(i, used_gib=0, total_gib=80, util=0, **kw):
    d = {"index": i, "name": "NVIDIA A100-SXM4-80GB", "uuid": f"GPU-{i:04d}", "util": util,
         "mem_used": int(used_gib * GiB), "mem_total": total_gib * GiB, "temperature": 40,
         "power_draw": 60.0, "power_limit": 400.0, "mig_mode": False}
    d.update(kw)
    return d


def write_fake(tmp_path, snapshots, name="gpus.json", repeat="loop"):
    p = tmp_path / name
    p.write_text(json.dumps({"snapshots": snapshots, "repeat": repeat}))
    return p


class Procs:
    """Real processes started for a test, all reaped at the end."""

    def __init__(self):
        self.ps: list[subprocess.Popen] = []

    def start(self, argv, run_id=None, lab=None, **kw):
        env = {k: v for k, v in os.environ.items() if k not in (G.RUN_TAG, G.LAB_TAG)}
        if run_id:
            env[G.RUN_TAG] = run_id
        if lab:
            env[G.LAB_TAG] = lab
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, **kw)
        self.ps.append(p)
        return p

    def close(self):
        for p in self.ps:
            if p.poll() is None:
                try:
                    for c in psutil.Process(p.pid).children(recursive=True):
                        c.kill()
                except psutil.Error:
                    pass
                p.kill()
            p.wait(5)


@pytest.fixture(name="procs")
def procs_fixture():
    ps = Procs()
    yield ps
    ps.close()


def child_of(pid, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        kids = psutil.Process(pid).children()
        if kids and kids[0].cmdline()[:1] == ["sleep"]:
            return kids[0].pid
        time.sleep(0.02)
    raise AssertionError(f"no child of {pid}")


# ----------------------------------------------------------------- NA and the none path (for real)
def test_na_is_one_falsy_sentinel():
    assert G.NA is type(G.NA)() and not G.NA and str(G.NA) == "n/a"
    assert G.fmt(G.NA) == "n/a" and G.fmt(20 * GiB, "B") == "20.0 GiB"
    snap = G.GpuSnapshot(ok=True, reason=None, gpus=[G.GpuInfo(index=0)])
    assert snap.to_dict()["gpus"][0]["util"] is None


def test_none_path_for_real_no_driver():
    """This machine has no NVIDIA driver: the real nvmlInit fails and we get a clear state."""
    src = G.make_source("auto")
    if isinstance(src, G.NvmlSource):
        pytest.skip("NVML works on this machine")
    snap = src.sample()
    assert snap.ok is False and snap.gpus == [] and snap.processes == []
    assert snap.reason.startswith("no NVIDIA GPU: ") and len(snap.reason) > len("no NVIDIA GPU: ")
    assert snap.host.mem_total > 0 and snap.host.cpu_count >= 1
    # an explicit nvml source says the same thing instead of crashing
    snap2 = G.make_source("nvml").sample()
    assert snap2.ok is False and snap2.reason == snap.reason
    assert G.resolve_gpus("auto", set()) == ([], f"warning: {snap.reason}; running on CPU")
    assert G.resolve_gpus("0,1", set())[0] == []


# ----------------------------------------------------------------- NVML through the stub pynvml
SCRIPT = textwrap.dedent("""
    import json, os, sys, warnings
    warnings.simplefilter("error")          # any leaked warning (deprecation) would fail loudly
    from tui.core import gpus as G
    from tui.core.gpus import nvml
    lazy = G.make_source("auto", lazy=True)  # the app's: NVML waits for the first sample
    assert not nvml._state["done"] and not os.path.exists(os.environ["STUB_PYNVML_LOG"])
    a = G.make_source("auto"); b = G.make_source("nvml")
    out = [type(a).__name__, a.sample().to_dict(), b.sample().to_dict(), a.sample().to_dict(),
           lazy.sample().to_dict()]
    print(json.dumps(out))
""")


def run_stub(tmp_path, cfg):
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    log = tmp_path / "nvml.log"
    env = dict(os.environ, PYTHONPATH=f"{STUB}{os.pathsep}{ROOT}", STUB_PYNVML_CONFIG=str(tmp_path / "cfg.json"),
               STUB_PYNVML_LOG=str(log))
    env.pop(G.FAKE_ENV, None)
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), log.read_text().split()


def _mkdir(p):
    p.mkdir()
    return p


def stub_gpu(i, **kw):
    d = {"name": f"Stub GPU {i}", "uuid": f"GPU-stub-{i}", "util": 10 * i, "mem_used": i * GiB,
         "mem_total": 16 * GiB, "temp": 50 + i, "power_mw": 100_000, "limit_mw": 250_000,
         "mig": [0, 0], "procs": []}
    d.update(kw)
    return d


def test_stub_library_not_found_gives_none_state(tmp_path):
    (kind, s1, s2, _, lazy), log = run_stub(tmp_path, {"init_error": "LibraryNotFound", "warn_deprecated": True})
    assert kind == "NoneSource"
    assert s1["ok"] is False and s1["reason"] == "no NVIDIA GPU: NVML Shared Library Not Found"
    assert s2["reason"] == s1["reason"] == lazy["reason"] and lazy["ok"] is False
    assert log == ["init"]  # tried once per process, never again


def test_stub_not_supported_lost_gpu_and_invisible_pid(tmp_path):
    me = os.getpid()
    cfg = {"warn_deprecated": True, "gpus": [
        stub_gpu(0, mig=None, procs=[[999_999_99, None]]),     # MIG not supported; invisible pid
        stub_gpu(1),
        stub_gpu(2, mig=[1, 1], procs=[[me, 3 * GiB]]),
    ], "fail": {"0": {"nvmlDeviceGetTemperature": "NotSupported", "nvmlDeviceGetPowerUsage": "NoPermission"},
                "1": {"nvmlDeviceGetUtilizationRates": "GpuIsLost"}}}
    (kind, s1, s2, s3, lazy), log = run_stub(tmp_path, cfg)
    assert kind == "NvmlSource"
    for s in (s1, s2, s3, lazy):
        assert s["ok"] is True and [g["index"] for g in s["gpus"]] == [0, 1, 2]
        g0, g1, g2 = s["gpus"]
        assert g0["temperature"] is None and g0["power_draw"] is None and g0["mig_mode"] is None  # n/a
        assert g0["util"] == 0 and g0["mem_total"] == 16 * GiB and g0["power_limit"] == 250.0
        assert g1["lost"] is True and "lost" in g1["error"] and g1["util"] is None
        assert g1["name"] == "Stub GPU 1"  # still labelled
        assert g2["util"] == 20 and g2["temperature"] == 52 and g2["power_draw"] == 100.0 and g2["mig_mode"] is True
        p0, p2 = sorted(s["processes"], key=lambda p: p["gpu"])
        assert p0["visible"] is False and p0["foreign"] is True and p0["mem_used"] is None
        assert p2["visible"] is True and p2["gpu"] == 2 and p2["mem_used"] == 3 * GiB and p2["same_user"] is True
    # initialised once for both sources and all samples, shut down once at exit
    assert log == ["init", "shutdown"]


def test_stub_lost_handle_and_zero_devices(tmp_path):
    (_, s1, _, _, _), _ = run_stub(tmp_path, {"gpus": [stub_gpu(0), stub_gpu(1)],
                                           "fail": {"0": {"*": "GpuIsLost"}}})
    assert s1["ok"] and s1["gpus"][0]["lost"] is True and s1["gpus"][1]["util"] == 10
    (_, s1, _, _, _), log = run_stub(_mkdir(tmp_path / "b"), {"gpus": []})
    assert s1["ok"] is False and "0 devices" in s1["reason"]


# ----------------------------------------------------------------- attribution with real processes
def test_attribution_tag_ancestry_foreign_invisible(tmp_path, procs):
    tagged = procs.start(["sleep", "60"], run_id="exp_1")
    parent = procs.start(["sh", "-c", "env -i sleep 60 & wait"], run_id="exp_2")  # child drops the tag
    scrubbed = child_of(parent.pid)
    foreign = procs.start(["sleep", "60"])
    fake = write_fake(tmp_path, [{"ok": True, "gpus": [fake_gpu(0, 30), fake_gpu(1, 10)], "processes": [
        {"pid": tagged.pid, "gpu": 0, "mem_used": 20 * GiB},
        {"pid": scrubbed, "gpu": 1, "mem_used": 5 * GiB},
        {"pid": foreign.pid, "gpu": 0, "mem_used": 10 * GiB},
        {"pid": 999_999_98, "gpu": 1, "mem_used": None},
    ]}])
    snap = G.make_source("auto", fake_path=fake).sample()
    by = {p.pid: p for p in snap.processes}
    assert by[tagged.pid].run_id == "exp_1" and not by[tagged.pid].foreign
    assert by[scrubbed].run_id == "exp_2" and not by[scrubbed].foreign      # via ancestry
    assert by[foreign.pid].run_id is None and by[foreign.pid].foreign and by[foreign.pid].same_user is True
    assert by[foreign.pid].create_time == pytest.approx(psutil.Process(foreign.pid).create_time())
    assert by[999_999_98].visible is False and by[999_999_98].mem_used is G.NA
    u1, u2 = snap.runs["exp_1"], snap.runs["exp_2"]
    assert u1.pids == (tagged.pid,) and u1.gpu_mem == 20 * GiB and u1.gpus == (0,) and u1.rss > 0
    assert set(u2.pids) == {parent.pid, scrubbed} and u2.gpus == (1,)   # whole tree
    assert "exp_" not in "".join(k for k in snap.runs if k not in ("exp_1", "exp_2"))


def test_attribution_from_run_roots_checks_create_time(tmp_path, procs):
    root = procs.start(["sh", "-c", "sleep 60 & wait"])          # untagged: known only from the journal
    kid = child_of(root.pid)
    ct = psutil.Process(root.pid).create_time()
    fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0)], "processes": [{"pid": kid, "gpu": 0, "mem_used": GiB}]}])
    good = G.make_source("fake", fake_path=fake).sample([("exp_9", root.pid, ct)])
    assert good.process(kid).run_id == "exp_9" and set(good.runs["exp_9"].pids) == {root.pid, kid}
    stale = G.make_source("fake", fake_path=fake).sample([("exp_9", root.pid, ct - 100)])
    assert stale.process(kid).run_id is None and stale.process(kid).foreign   # a reused pid is not the run


def test_run_cpu_percent_over_tree(procs):
    busy = procs.start([sys.executable, "-c", "while True: pass"], run_id="hot_1")
    src = G.make_source("none")
    src.sample()
    deadline = time.monotonic() + 30
    while True:  # CPU % is measured between samples: a loaded box needs some of them
        time.sleep(0.2)
        snap = src.sample()
        assert snap.ok is False and snap.runs["hot_1"].pids == (busy.pid,)
        if snap.runs["hot_1"].cpu_percent > 20 or time.monotonic() > deadline:
            break
    assert snap.runs["hot_1"].cpu_percent > 20 and snap.runs["hot_1"].gpus == ()


# ----------------------------------------------------------------- fake source and sampler
def test_fake_sequence_loops_or_stays(tmp_path):
    snaps = [{"gpus": [fake_gpu(0, util=u)]} for u in (10, 20, 30)]
    loop = G.make_source("fake", fake_path=write_fake(tmp_path, snaps))
    assert [loop.sample().gpus[0].util for _ in range(5)] == [10, 20, 30, 10, 20]
    last = G.FakeSource(write_fake(tmp_path, snaps, "b.json", repeat="last"))
    assert [last.sample().gpus[0].util for _ in range(5)] == [10, 20, 30, 30, 30]
    with pytest.raises(UserError):
        G.FakeSource(tmp_path / "missing.json")
    # what `labtui gpus --json` writes replays as a fake
    one = tmp_path / "one.json"
    one.write_text(json.dumps(loop.sample().to_dict()))
    assert G.FakeSource(one).sample().gpus[0].util == 30


def test_env_var_selects_fake_everywhere(tmp_path, monkeypatch):
    monkeypatch.setenv(G.FAKE_ENV, str(write_fake(tmp_path, [{"gpus": [fake_gpu(0), fake_gpu(1)]}])))
    src = G.make_source()
    assert isinstance(src, G.FakeSource) and len(src.sample().gpus) == 2


def test_history_is_bounded_by_count_and_age(tmp_path):
    now = [1000.0]
    src = G.FakeSource(write_fake(tmp_path, [{"gpus": [fake_gpu(0, util=u), fake_gpu(1)]} for u in range(7)]),
                       clock=lambda: now[0])
    s = G.Sampler(src, interval=1.0, history_seconds=10)
    for _ in range(50):
        s.tick()
        now[0] += 1.0
    h = s.history(0)
    assert 10 <= len(h) <= 11 and h[-1][0] == 1049.0 and h[0][0] >= 1039.0
    assert [u for _, u, _ in h][-3:] == [(47 % 7), (48 % 7), (49 % 7)]
    now[0] += 100                      # a long pause: everything older than 10 s goes
    s.tick()
    assert len(s.history(0)) == 1 and len(s.history(1)) == 1 and len(s.history(5)) == 0
    default = G.Sampler(src)
    assert default._maxlen == 601      # 10 minutes at 1 s


class SlowSource(G.FakeSource):
    def _read(self):
        time.sleep(0.3)
        return super()._read()


def test_sampler_thread_never_blocks_readers(tmp_path):
    s = G.Sampler(SlowSource(write_fake(tmp_path, [{"gpus": [fake_gpu(0)]}])), interval=0.05)
    t0 = time.perf_counter()
    s.start()
    assert s.latest() is None and time.perf_counter() - t0 < 0.1
    deadline = time.time() + 5
    while s.samples < 2 and time.time() < deadline:
        t1 = time.perf_counter()
        s.latest(), s.history(0)
        assert time.perf_counter() - t1 < 0.05
        time.sleep(0.02)
    s.stop()
    assert s.samples >= 2 and s.latest().ok and s._thread is None
    assert not any(t.name == "labtui-gpu-sampler" for t in __import__("threading").enumerate())


# ----------------------------------------------------------------- --gpus auto / indices
def test_resolve_gpus(tmp_path, procs):
    run_proc = procs.start(["sleep", "60"], run_id="exp_3")
    src = G.FakeSource(write_fake(tmp_path, [{"gpus": [
        fake_gpu(0, 1), fake_gpu(1, 0.5), fake_gpu(2, 0.1), fake_gpu(3, 9), fake_gpu(4, 0, lost=True)],
        "processes": [{"pid": run_proc.pid, "gpu": 2, "mem_used": 0.1 * GiB}]}]))
    assert G.resolve_gpus(None, set(), src) == (None, None)
    assert G.resolve_gpus("cpu", set(), src) == ([], None)
    assert G.resolve_gpus([], set(), src) == ([], None)
    assert G.resolve_gpus("auto", set(), src) == ([1], None)        # GPU 2 holds a labtui run
    assert G.resolve_gpus("auto", {1}, src) == ([0], None)          # busy from the journal
    assert G.resolve_gpus("auto:2", {1}, src) == ([0, 3], None)
    with pytest.raises(UserError, match="free GPU"):
        G.resolve_gpus("auto:3", {1}, src)
    assert G.resolve_gpus("3,0,3", set(), src) == ([3, 0], None)
    assert G.resolve_gpus([2], set(), src) == ([2], "warning: GPU 2 already used by a labtui run")
    with pytest.raises(UserError, match=r"GPU 7 does not exist \(this machine has GPU 0, 1, 2, 3, 4\)"):
        G.resolve_gpus("0,7", set(), src)
    with pytest.raises(UserError):
        G.resolve_gpus("zero", set(), src)
    none = G.NoneSource(reason="no NVIDIA GPU: NVML Shared Library Not Found")
    assert G.resolve_gpus("0,7", set(), none) == ([], "warning: no NVIDIA GPU: NVML Shared Library Not Found; running on CPU")
