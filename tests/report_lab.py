"""A fixed-clock lab for the report tests and the bench: every dated field is written here,
nothing depends on when the test runs (runs in every ended status, a resume chain, a kill with a
CJK reason, notes with Markdown and HTML in them)."""

from __future__ import annotations

import json
import math
from pathlib import Path

JOURNAL = '''# report lab
[experiments.gan]
command = "python -m trainers.gan --g-lr {g_lr} --d-lr {d_lr}"
params = { g_lr = 3e-4, d_lr = 1e-3 }

[experiments.cnn]
command = "python -m trainers.cnn --lr {lr}"
params = { lr = 3e-3 }

[runs.gan_1]
experiment = "gan"
command = "python -m trainers.gan --g-lr 0.0003 --d-lr 0.001"
params = { g_lr = 3e-4, d_lr = 1e-3 }
status = "finished"
started = 2025-03-02T10:00:00
ended = 2025-03-02T11:30:00
exit_code = 0
tags = ["baseline", "ttur"]
verdict = "keep"
notes = [
  { at = 2025-03-02T10:45:00, text = "baseline **bold** _it_ <b>html</b> | pipe # not a heading" },
]

[runs.gan_2]
experiment = "gan"
command = "python -m trainers.gan --g-lr 0.01 --d-lr 0.001"
params = { g_lr = 1e-2, d_lr = 1e-3 }
status = "killed"
started = 2025-03-02T12:00:00
ended = 2025-03-02T12:20:00
signal = "SIGINT"
verdict = "diverging"
notes = [
  { at = 2025-03-02T12:10:00, text = "<script>alert(1)</script> see [here](javascript:alert(1)) ![x](http://x/y.png)" },
  { at = 2025-03-02T12:19:00, text = "killed: 損失が発散した (loss diverged)" },
]

[runs."gan_2.1"]
experiment = "gan"
command = "python -m trainers.gan --g-lr 0.001 --d-lr 0.001 --resume logs/gan_2/checkpoints/step-100"
params = { g_lr = 1e-3, d_lr = 1e-3 }
status = "finished"
parent = "gan_2"
resumed_from = "logs/gan_2/checkpoints/step-100"
resume_step = 100
started = 2025-03-03T09:00:00
ended = 2025-03-03T09:40:00
exit_code = 0

[runs.gan_3]
experiment = "gan"
command = "python -m trainers.gan --g-lr 0.0003 --d-lr 0.1"
params = { g_lr = 3e-4, d_lr = 1e-1 }
status = "failed"
started = 2025-03-03T10:00:00
ended = 2025-03-03T10:01:30
exit_code = 1

[runs.cnn_1]
experiment = "cnn"
command = "python -m trainers.cnn --lr 0.003"
params = { lr = 3e-3 }
status = "running"
started = 2025-03-01T08:00:00
notes = ["an undated note, written by hand"]

[runs.cnn_2]
experiment = "cnn"
command = "python -m trainers.cnn --lr 0.01"
params = { lr = 1e-2 }
status = "finished"
started = 2025-03-04T16:00:00
ended = 2025-03-04T16:05:00
exit_code = 0
tags = ["sweep"]
'''


def write_jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def make_lab(root: Path) -> Path:
    """The lab in ``root``; returns its journal."""
    journal = root / "experiments.toml"
    journal.write_text(JOURNAL, encoding="utf-8")
    logs = root / "logs"
    write_jsonl(logs / "gan_1" / "metrics.jsonl",
                ({"step": s, "loss_d": 1.0 / (1 + s / 50), "loss_g": 2.0 - s / 400} for s in range(0, 401, 10)))
    write_jsonl(logs / "gan_2" / "metrics.jsonl",
                ({"step": s, "loss_d": (math.nan if s >= 150 else 0.9 - s / 1000), "loss_g": 1.5}
                 for s in range(0, 201, 10)))
    write_jsonl(logs / "gan_2.1" / "metrics.jsonl",
                ({"step": s, "loss_d": 0.8 - s / 2000, "loss_g": 1.4 - s / 1000} for s in range(100, 501, 10)))
    (logs / "gan_3").mkdir(parents=True)
    (logs / "gan_3" / "output.log").write_text(
        "step 10 loss_d 0.9\nstep 20 loss_d 0.8\nTraceback (most recent call last):\n"
        '  File "train.py", line 3, in <module>\n    main()\nValueError: d_lr 0.1 is too high\n',
        encoding="utf-8")
    write_jsonl(logs / "cnn_1" / "metrics.jsonl",
                ({"step": s, "loss": 2.3 - s / 100, "acc": s / 120} for s in range(0, 101, 5)))
    write_jsonl(logs / "cnn_2" / "metrics.jsonl",
                ({"step": s, "loss": 2.3 - s / 80, "acc": 0.1 + s / 150} for s in range(0, 101, 5)))
    ex = {"gan_1": {"code": 0, "signal": None, "ended": "2025-03-02T11:30:00", "killed": False},
          "gan_2": {"code": None, "signal": "SIGINT", "ended": "2025-03-02T12:20:00", "killed": True},
          "gan_2.1": {"code": 0, "signal": None, "ended": "2025-03-03T09:40:00", "killed": False},
          "gan_3": {"code": 1, "signal": None, "ended": "2025-03-03T10:01:30", "killed": False},
          "cnn_2": {"code": 0, "signal": None, "ended": "2025-03-04T16:05:00", "killed": False}}
    for rid, e in ex.items():
        (logs / rid / "exit.json").write_text(json.dumps(e), encoding="utf-8")
    (logs / "gan_2" / "kill.json").write_text(json.dumps(
        {"requested": "2025-03-02T12:19:00", "reason": "損失が発散した (loss diverged)", "mode": "graceful"},
        ensure_ascii=False), encoding="utf-8")
    return journal
