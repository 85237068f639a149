"""A trainer in labtui's checkpoint layout: ``step N: loss X`` lines, ``checkpoints/step-N/`` (tmp +
rename, ``latest`` pointer) every --every steps and on SIGINT/SIGTERM (then exit 130); resumes
from $LABTUI_RESUME_FROM (``starting at step N``)."""
import argparse
import os
import signal
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=20)
p.add_argument("--tick", type=float, default=0.05)
p.add_argument("--every", type=int, default=5)
a = p.parse_args()
run_dir = os.environ["LABTUI_RUN_DIR"]
stop = []
for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, lambda n, _f: stop.append(signal.Signals(n).name))


def save(step: int) -> None:
    ck = os.path.join(run_dir, "checkpoints")
    os.makedirs(os.path.join(ck, f"step-{step}.tmp"), exist_ok=True)
    with open(os.path.join(ck, f"step-{step}.tmp", "state"), "w") as f:
        f.write(str(step))
    os.replace(os.path.join(ck, f"step-{step}.tmp"), os.path.join(ck, f"step-{step}"))
    with open(os.path.join(ck, "latest.tmp"), "w") as f:
        f.write(f"step-{step}\n")
    os.replace(os.path.join(ck, "latest.tmp"), os.path.join(ck, "latest"))
    print(f"saved checkpoint step-{step}", flush=True)


start = 0
if os.environ.get("LABTUI_RESUME_FROM"):
    with open(os.path.join(os.environ["LABTUI_RESUME_FROM"], "state")) as f:
        start = int(f.read())
print(f"starting at step {start + 1} on {os.uname().nodename}", flush=True)
for step in range(start + 1, a.steps + 1):
    time.sleep(a.tick)
    print(f"step {step}: loss {1.0 / step:.5f}", flush=True)
    if stop or step % a.every == 0:
        save(step)
    if stop:
        print(f"stopped by {stop[0]}", flush=True)
        sys.exit(130)
print("done", flush=True)
