"""Ignores SIGINT and SIGTERM (with handlers that do nothing); only SIGKILL stops it."""
import signal
import time

for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, lambda *_: print("ignoring", flush=True))
print("ready", flush=True)
while True:
    time.sleep(0.05)
