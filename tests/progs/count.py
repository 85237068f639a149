"""Print N numbered lines (optionally slowly), then exit with CODE."""
import argparse
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=500)
ap.add_argument("--code", type=int, default=0)
ap.add_argument("--delay", type=float, default=0.0)
a = ap.parse_args()
for i in range(1, a.n + 1):
    print(f"line {i} loss={1.0 / i:.4f}", flush=True)
    if a.delay:
        time.sleep(a.delay)
sys.exit(a.code)
