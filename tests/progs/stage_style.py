"""A pipeline stage: ``--stage K [--pretrained PATH] --save PATH``: loads the previous stage's
weights from --pretrained (a stage > 1 without them fails), trains a few steps, saves."""
import argparse
import json
import sys

p = argparse.ArgumentParser()
p.add_argument("--stage", type=int, required=True)
p.add_argument("--pretrained")
p.add_argument("--save", required=True)
a = p.parse_args()
if a.stage > 1 and not a.pretrained:
    sys.exit("stage > 1 needs --pretrained")
weights = []
if a.pretrained:
    with open(a.pretrained) as f:
        weights = json.load(f)["stages"]
    print(f"loaded stages {weights} from {a.pretrained}", flush=True)
for step in range(1, 4):
    print(f"iter {step}: loss {1.0 / (step + a.stage):.4f}", flush=True)
with open(a.save, "w") as f:
    json.dump({"stages": weights + [a.stage]}, f)
