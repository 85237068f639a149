"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd on this machine.

Everything lives in one temporary folder (config, munge key and socket, state, spool, logs,
pid files); ports are picked free; no systemd.  ``start()`` waits until the node is idle;
``stop()`` is ``scontrol shutdown`` then the pid files.  ``stop_controller()`` /
``start_controller()`` stop and restart slurmctld alone (its state is kept: jobs survive).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

BINARIES = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol")


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]


def _bin(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(cond, timeout: float, what: str, logs=()) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            tails = "".join(f"\n--- {p}\n" + _tail(p) for p in logs)
            raise RuntimeError(f"slurm test cluster: {what} within {timeout:g}s{tails}")
        time.sleep(0.1)


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError as e:
        return str(e)


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Cluster:
    def __init__(self, root: Path):
        self.root = root
        self.conf = root / "slurm.conf"
        self.munge_dir = root / "munge"
        self.socket = self.munge_dir / "munge.socket"
        self.node = socket.gethostname().split(".")[0]
        self.env = {"SLURM_CONF": str(self.conf)}

    # ------------------------------------------------------------------ helpers
    def _path(self, name: str) -> Path:
        return self.root / name

    def run(self, *argv: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, **self.env}
        p = subprocess.run([_bin(argv[0]), *argv[1:]], capture_output=True, text=True, env=env,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} -> {p.returncode}: {p.stderr.strip()}")
        return p

    def responding(self) -> bool:
        try:
            return self.run("scontrol", "ping", timeout=10, check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def node_idle(self) -> bool:
        p = self.run("sinfo", "-h", "-N", "-o", "%T", timeout=10, check=False)
        return p.returncode == 0 and p.stdout.strip().startswith(("idle", "mixed", "allocated"))

    # ------------------------------------------------------------------ config
    def _node_line(self) -> str:
        p = subprocess.run([_bin("slurmd"), "-C"], capture_output=True, text=True, timeout=30)
        fields = dict(w.split("=", 1) for w in p.stdout.split() if "=" in w)
        cpus = fields.get("CPUs", "1")
        mem = int(fields.get("RealMemory", "1000"))
        keep = " ".join(f"{k}={fields[k]}" for k in ("Boards", "SocketsPerBoard", "CoresPerSocket",
                                                     "ThreadsPerCore") if k in fields)
        return (f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} {keep} "
                f"RealMemory={max(100, mem - 100)} State=UNKNOWN")

    def write_config(self) -> None:
        user = pwd.getpwuid(os.getuid()).pw_name
        r = self.root
        for d in ("state", "spool", "log"):
            (r / d).mkdir(exist_ok=True)
        (r / "plugstack.conf").write_text("")
        self.conf.write_text("\n".join([
            "ClusterName=labtui-test",
            f"SlurmctldHost={self.node}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.socket}",
            f"SlurmUser={user}",
            f"SlurmdUser={user}",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            f"PlugStackConfig={r / 'plugstack.conf'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SchedulerType=sched/backfill",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",  # no sacct: labtui's fallback is tested
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "SlurmctldTimeout=120",
            "SlurmdTimeout=120",
            "MessageTimeout=5",
            "KillWait=5",
            "MinJobAge=300",
            self._node_line(),
            # Tests run several short jobs at once on a 2-core box: let them share cores.
            f"PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8",
            "",
        ]))

    # ------------------------------------------------------------------ daemons
    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.munge_dir.mkdir(exist_ok=True)
        os.chmod(self.munge_dir, 0o755)
        key = self.munge_dir / "munge.key"
        subprocess.run([_bin("mungekey"), "--create", f"--keyfile={key}", "--bits=1024"], check=True,
                       capture_output=True, timeout=30)
        os.chmod(key, 0o600)
        subprocess.run([_bin("munged"), "--force", f"--socket={self.socket}", f"--key-file={key}",
                        f"--log-file={self.munge_dir / 'munged.log'}", f"--pid-file={self.munge_dir / 'munged.pid'}",
                        f"--seed-file={self.munge_dir / 'munged.seed'}"], check=True, capture_output=True, timeout=30)
        _wait(self.socket.exists, 20, "munged did not create its socket", [self.munge_dir / "munged.log"])
        self.write_config()
        self.start_controller(clean=True)
        self.run("slurmd")
        _wait(self.node_idle, 60, "the node did not become idle",
              [self.root / "log" / "slurmd.log", self.root / "log" / "slurmctld.log"])

    def start_controller(self, clean: bool = False) -> None:
        self.run("slurmctld", *(["-c", "-i"] if clean else []))  # -c: a fresh state; else recover jobs
        _wait(self.responding, 60, "slurmctld did not answer", [self.root / "log" / "slurmctld.log"])

    def stop_controller(self) -> None:
        pid = _pid(self.root / "slurmctld.pid")
        if pid:
            os.kill(pid, signal.SIGTERM)
        _wait(lambda: not _alive(pid), 60, "slurmctld did not stop")

    def stop(self) -> None:
        pids = [_pid(self.root / n) for n in ("slurmctld.pid", "slurmd.pid")]
        try:  # no trainer outlives the cluster (slurmstepd survives a slurmd shutdown)
            self.run("scancel", "--user", pwd.getpwuid(os.getuid()).pw_name, timeout=30, check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.run(
                    "squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING", timeout=30, check=False).stdout.strip():
                time.sleep(0.2)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.run("scontrol", "shutdown", timeout=30, check=False)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 30
        for pid in pids:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        mpid = _pid(self.munge_dir / "munged.pid")
        if _alive(mpid):
            os.kill(mpid, signal.SIGTERM)
            _wait(lambda: not _alive(mpid), 30, "munged did not stop")
