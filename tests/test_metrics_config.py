"""The run's logged config (issue 12): config dumps a trainer prints at its start are not metrics,
they are shown by ``labtui show`` as the run's logged config (real formats: argparse
``Namespace``, a dict echo, Hugging Face ``TrainingArguments(`` ... ``)``)."""

from __future__ import annotations

import json
from pathlib import Path

from tui.core.metrics import logged_config, parse_file

ROOT = Path(__file__).resolve().parent.parent

SAMPLE = """\
2024-03-01 10:00:00 INFO [train.py:42] Namespace(arch='resnet18', batch_size=256, epochs=90, lr=0.1, gpu=[0, 1], dist_url='tcp://224.66.41.62:23456')
{'train': 40058, 'test': 12032}
{'lr': 0.001, 'batch_size': 32, 'seed': 1, 'optimizer': {'name': 'adam', 'betas': (0.9, 0.999)}}
  warnings.warn(
TrainingArguments(
_n_gpu=1,
learning_rate=5e-05,
lr_scheduler_type=SchedulerType.LINEAR,
report_to=['tensorboard'],
)
{'loss': 2.5, 'learning_rate': 4e-05, 'epoch': 0.1}
{'loss': 2.1, 'learning_rate': 3e-05, 'epoch': 0.2}
"""


def test_config_dumps_are_read_and_metrics_dicts_are_not(tmp_path):
    log = tmp_path / "output.log"
    log.write_text(SAMPLE, encoding="utf-8")
    got = logged_config(log)
    assert [n for n, _ in got] == ["Namespace", "config", "TrainingArguments"]
    ns = got[0][1]
    assert ns == {"arch": "'resnet18'", "batch_size": "256", "epochs": "90", "lr": "0.1", "gpu": "[0, 1]",
                  "dist_url": "'tcp://224.66.41.62:23456'"}
    assert got[1][1]["optimizer"] == "{'name': 'adam', 'betas': (0.9, 0.999)}"
    assert got[2][1] == {"_n_gpu": "1", "learning_rate": "5e-05", "lr_scheduler_type": "SchedulerType.LINEAR",
                         "report_to": "['tensorboard']"}
    # still never metrics
    assert set(parse_file(log).series) == {"loss", "learning_rate", "epoch"}
    assert logged_config(tmp_path / "missing.log") == []


def test_real_logs_configs():
    hf = logged_config(ROOT / "tests/data/corpus/hf_gemma_lora.log")
    assert [n for n, _ in hf] == ["TrainingArguments"]
    assert hf[0][1]["warmup_steps"] == "20" and hf[0][1]["output_dir"] == "ckpt/quiet-river-12"
    assert hf[0][1]["push_to_hub_token"] == "<PUSH_TO_HUB_TOKEN>" and len(hf[0][1]) == 125
    ms = logged_config(ROOT / "tests/data/corpus/missformer_log.txt")
    assert [n for n, _ in ms] == ["Namespace", "Namespace"] and ms[0][1]["base_lr"] == "0.01"
    assert logged_config(ROOT / "tests/data/corpus/resnet_compare.md") == []  # data sizes, not config


def test_labtui_show_prints_the_logged_config(lab, tmp_path):
    prog = tmp_path / "cfg.py"
    prog.write_text("print(\"Namespace(lr=0.01, batch_size=8, data='./d')\")\n"
                    "for s in range(3):\n    print(f'step {s} loss {1 / (s + 1):.3f}')\n")
    with open(lab.journal, "a", encoding="utf-8") as f:
        f.write(f'\n[experiments.cfg]\ncommand = "python {prog}"\n')
    lab.labtui("run", "cfg", "--name", "c1", check=True)
    lab.wait_status("c1", "finished")
    out = lab.labtui("show", "c1", check=True).stdout
    assert "logged config  Namespace: lr=0.01, batch_size=8, data='./d'" in out.splitlines()
    doc = json.loads(lab.labtui("show", "c1", "--json", check=True).stdout)
    assert doc["logged_config"] == [{"name": "Namespace",
                                     "values": {"lr": "0.01", "batch_size": "8", "data": "'./d'"}}]
