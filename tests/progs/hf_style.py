"""HF-Trainer-style: ``--output_dir D`` gets ``checkpoint-N/`` folders (trainer_state.json);
``--resume_from_checkpoint D/checkpoint-N`` continues from one."""
import argparse
import json
import os

import toyloop

p = argparse.ArgumentParser()
p.add_argument("--output_dir", required=True)
p.add_argument("--resume_from_checkpoint")
p.add_argument("--max_steps", type=int, default=100000)
a = p.parse_args()
start = 0
if a.resume_from_checkpoint:
    with open(os.path.join(a.resume_from_checkpoint, "trainer_state.json")) as f:
        start = json.load(f)["global_step"]


def save(step):
    d = os.path.join(a.output_dir, f"checkpoint-{step}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "trainer_state.json"), "w") as f:
        json.dump({"global_step": step}, f)


toyloop.run(start, a.max_steps, save)
