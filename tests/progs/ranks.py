"""Like torchrun: starts two 'ranks' in their own sessions, writes their pids, waits forever."""
import os
import subprocess
import sys
import time

code = "import signal,time\nsignal.signal(signal.SIGTERM, lambda *a: None)\nsignal.signal(signal.SIGINT, lambda *a: None)\nwhile True: time.sleep(0.1)"
kids = [subprocess.Popen([sys.executable, "-c", code], start_new_session=True) for _ in range(2)]
with open(os.path.join(os.environ["LABTUI_RUN_DIR"], "ranks.txt"), "w") as f:
    f.write(" ".join(str(k.pid) for k in kids))
print("ranks started", flush=True)
while True:
    time.sleep(0.1)
