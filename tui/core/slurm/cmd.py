"""Running one Slurm command: always with a timeout; a controller that does not answer raises
:class:`SlurmDown` (a state the caller shows), anything else returns the finished process."""

from __future__ import annotations

import os
import subprocess

NOT_RESPONDING = "slurm: not responding"
TIMEOUT = float(os.environ.get("LABTUI_SLURM_TIMEOUT", "8"))  # seconds for one command

# What Slurm's clients print when the controller cannot be reached (22.05 .. 24.x wordings).
_DOWN = ("unable to contact slurm controller", "connection refused", "connect failure",
         "socket timed out", "slurm_receive_msg", "communication connection failure",
         "zero bytes were transmitted", "slurmctld not responding")


class SlurmDown(Exception):
    """Slurm did not answer (timeout, controller unreachable, command missing)."""


def run(argv: list[str], timeout: float | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """``argv`` (never through a shell) with a timeout; SlurmDown when Slurm did not answer."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           timeout=TIMEOUT if timeout is None else timeout, env=env)
    except subprocess.TimeoutExpired:
        raise SlurmDown(f"{argv[0]} did not answer within {TIMEOUT if timeout is None else timeout:g}s") from None
    except OSError as e:
        raise SlurmDown(f"cannot run {argv[0]}: {e.strerror or e}") from None
    if p.returncode != 0 and any(w in p.stderr.lower() for w in _DOWN):
        raise SlurmDown(one_line(p.stderr) or f"{argv[0]} failed")
    return p


def one_line(text: str) -> str:
    """The last non-empty line of a command's error output, trimmed."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
