"""The training loop the convention scripts share: a step every few ms until max_iters or
SIGINT/SIGTERM; after a step it logs ``iter N: loss X`` and, every ``every`` steps or on a
stop, calls ``save(step)``.  A stop saves after the step it interrupted and exits 130."""
import signal
import sys
import time

_stop = []


def run(start: int, max_iters: int, save, every: int = 5, tick: float = 0.01) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: _stop.append(1))
    print(f"starting at iter {start + 1}", file=sys.stderr, flush=True)
    for step in range(start + 1, max_iters + 1):
        time.sleep(tick)
        print(f"iter {step}: loss {1.0 / step:.6f}", flush=True)
        if _stop or step % every == 0 or step == max_iters:
            save(step)
        if _stop:
            sys.exit(130)
