"""Lightning-style: ``<root>/lightning_logs/version_K/checkpoints/epoch=E-step=S.ckpt`` (K one
more than any there); ``--ckpt_path P`` continues from one."""
import argparse
import json
import os
import re

import toyloop

p = argparse.ArgumentParser()
p.add_argument("--default_root_dir", default=".")
p.add_argument("--ckpt_path")
a = p.parse_args()
start = 0
if a.ckpt_path:
    with open(a.ckpt_path) as f:
        start = json.load(f)["global_step"]
logs = os.path.join(a.default_root_dir, "lightning_logs")
os.makedirs(logs, exist_ok=True)
versions = [int(m.group(1)) for n in os.listdir(logs) if (m := re.match(r"version_(\d+)$", n))]
ckdir = os.path.join(logs, f"version_{max(versions, default=-1) + 1}", "checkpoints")
os.makedirs(ckdir)


def save(step):
    for old in os.listdir(ckdir):  # keeps the last one, like save_top_k=1
        os.remove(os.path.join(ckdir, old))
    with open(os.path.join(ckdir, f"epoch={step // 10}-step={step}.ckpt"), "w") as f:
        json.dump({"global_step": step}, f)


toyloop.run(start, 100000, save)
