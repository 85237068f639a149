"""nanoGPT-style: ``python nano_style.py config/x.py --out_dir=D --init_from=scratch|resume``.
The config file is read relative to the working folder (exec'd like nanoGPT's configurator);
one ``ckpt.pt`` in out_dir (relative to the working folder), overwritten at every save."""
import json
import os
import sys

import toyloop

max_iters = 100000
out_dir = "out"
init_from = "scratch"
for arg in sys.argv[1:]:
    if not arg.startswith("--"):
        exec(open(arg).read())  # a config file: relative to the cwd, fails anywhere else
    else:
        key, _, val = arg[2:].partition("=")
        globals()[key] = type(globals()[key])(val)

start = 0
ckpt = os.path.join(out_dir, "ckpt.pt")
if init_from == "resume":
    with open(ckpt) as f:
        start = json.load(f)["iter_num"]
os.makedirs(out_dir, exist_ok=True)


def save(step):
    with open(ckpt + ".part", "w") as f:
        json.dump({"iter_num": step, "config": config_name}, f)  # noqa: F821 (from the config file)
    os.replace(ckpt + ".part", ckpt)


toyloop.run(start, max_iters, save)
