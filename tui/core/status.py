"""A run's status: one enum, one home (the journal stores its string value)."""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"
    LOST = "lost"

    def __str__(self) -> str:  # f"{status}" and str(status) give the journal's word
        return self.value

    @property
    def live(self) -> bool:
        return self in LIVE

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
STATUSES = tuple(s.value for s in Status)


def final_status(exit_info: dict) -> Status:
    """How a run ended, from its ``exit.json`` record: killed by labtui, finished (exit 0) or failed."""
    if exit_info.get("killed"):
        return Status.KILLED
    return Status.FINISHED if exit_info.get("code") == 0 else Status.FAILED
