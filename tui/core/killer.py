"""``python -m tui.core.killer JOURNAL RUN_ID MODE GRACE [REASON]``: a kill that outlives its caller.

A graceful kill can take a minute (SIGINT, grace, SIGTERM, grace). The app starts it here, in
a detached process of its own, so that quitting the app never abandons a kill half-way: the
escalation to SIGKILL still happens. Progress and the outcome go to ``<run dir>/kill.log``.
"""

from __future__ import annotations

import sys

from .errors import UserError, disk_full
from .journal import Journal
from .runs import kill


def main(argv: list[str]) -> int:
    journal, run_id, mode, grace = argv[:4]
    reason = argv[4] if len(argv) > 4 and argv[4] else None
    say = lambda m: print(m, flush=True)  # noqa: E731
    try:
        status = kill(Journal(journal), run_id, grace=float(grace), mode=mode, reason=reason, progress=say)
    except UserError as e:
        print(f"error: {e}", flush=True)
        return 1
    except OSError as e:
        err = disk_full(e)
        if err is None:
            raise
        print(f"error: {err}", flush=True)
        return 1
    print(f"result: {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
