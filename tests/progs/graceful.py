"""A trainer that saves on SIGINT: finishes the step, writes 'saved', exits 130."""
import os
import signal
import sys
import time

stop = []
signal.signal(signal.SIGINT, lambda *_: stop.append(1))
print("ready", flush=True)
while not stop:
    time.sleep(0.02)
time.sleep(0.3)  # "saving a checkpoint"
with open(os.path.join(os.environ["LABTUI_RUN_DIR"], "saved"), "w") as f:
    f.write("ok")
print("saved checkpoint", flush=True)
sys.exit(130)
