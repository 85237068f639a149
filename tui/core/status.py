"""A run's status: one enum, one home (the journal stores its string value)."""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    QUEUED = "queued"        # waiting in labtui's queue (GPUs, --after): its shim waits
    PENDING = "pending"      # waiting in Slurm's queue (the job is submitted)
    STARTING = "starting"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"        # stopped by a person (labtui kill)
    STOPPED = "stopped"      # stopped by one of its own stop rules (--stop-when, --max-time, ...)
    CANCELLED = "cancelled"  # never started: cancelled while waiting, or its --after failed
    LOST = "lost"

    def __str__(self) -> str:  # f"{status}" and str(status) give the journal's word
        return self.value

    @property
    def live(self) -> bool:
        """Processes exist (or are being started): GPUs are held, a kill signals something."""
        return self in LIVE

    @property
    def waiting(self) -> bool:
        """Not started yet: queued by labtui or pending in Slurm."""
        return self in WAITING

    @property
    def ended(self) -> bool:
        return self not in ACTIVE

    @classmethod
    def parse(cls, value: object) -> "Status | None":
        """The Status named by ``value`` (a Status or its string); None for anything else."""
        if isinstance(value, Status):
            return value
        try:
            return cls(value)
        except ValueError:
            return None


LIVE = frozenset({Status.STARTING, Status.RUNNING})
WAITING = frozenset({Status.QUEUED, Status.PENDING})
ACTIVE = LIVE | WAITING  # not ended yet
STATUSES = tuple(s.value for s in Status)


def final_status(exit_info: dict) -> Status:
    """How a run ended, from its ``exit.json`` record: cancelled before it started, stopped by
    one of its rules, killed by a person, finished (exit 0) or failed."""
    if exit_info.get("cancelled"):
        return Status.CANCELLED
    if exit_info.get("stopped"):
        return Status.STOPPED
    if exit_info.get("killed"):
        return Status.KILLED
    return Status.FINISHED if exit_info.get("code") == 0 else Status.FAILED
