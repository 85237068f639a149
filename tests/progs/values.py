"""Prints ``step N | NAME V`` for each value given, one every few ms, then (without --end)
idles until SIGINT/SIGTERM; a stop writes ``saved`` into the run folder ("its checkpoint")
and exits 130.  ``--end``: exit 0 after the values.  ``--wait-for FILE``: before exiting
(--end), wait until FILE exists."""
import os
import signal
import sys
import time

stop = []
for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, lambda *_: stop.append(1))
args = sys.argv[1:]
end = "--end" in args
args = [a for a in args if a != "--end"]
wait_for = None
if "--wait-for" in args:
    i = args.index("--wait-for")
    wait_for = args[i + 1]
    del args[i:i + 2]
name, values = args[0], args[1:]
for i, v in enumerate(values, 1):
    if stop:
        break
    print(f"step {i} | {name} {v}", flush=True)
    time.sleep(0.02)
if end and not stop:
    while wait_for and not os.path.exists(wait_for):
        time.sleep(0.02)
    sys.exit(0)
while not stop:
    time.sleep(0.02)
with open(os.path.join(os.environ["LABTUI_RUN_DIR"], "saved"), "w") as f:
    f.write("ok")
print("saved checkpoint", flush=True)
sys.exit(130)
