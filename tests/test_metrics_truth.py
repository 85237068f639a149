"""Metrics truth (issue 12): final values, metric direction, progress, false series, families."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from array import array

from tests.snapshot_tests.labdata import no_gpu
from tui.app.app import LabApp
from tui.app.model import summarize
from tui.core import metrics as M
from tui.core.metrics import Series, parse_file

TRAINER = '''
import os, sys, time
go = sys.argv[1]
for s in range(40):
    print(f"step {s} loss {1.0 / (s + 1):.4f}", flush=True)
while not os.path.exists(go):
    time.sleep(0.01)
# the last lines reach the log only when the process exits (block-buffered stdout)
for s in range(40, 101):
    print(f"step {s} loss {0.0123 if s == 100 else 1.0 / (s + 1):.4f}")
'''


def test_final_values_reach_the_row_with_its_end(lab, tmp_path):
    """A run that is not selected and ends: the poll that shows its end also shows its last
    lines (step 100, loss 0.0123), never the step-39 values read while it ran."""
    prog = tmp_path / "trainer.py"
    prog.write_text(TRAINER)
    go = tmp_path / "go"
    lab.labtui("run", "--name", "subject", "--", sys.executable, str(prog), str(go), check=True)
    lab.labtui("run", "--name", "other", "--", sys.executable, "-c", "print('step 1 loss 0.5')",
               check=True)
    lab.wait_status("other", "finished")

    async def main() -> None:
        app = LabApp(lab.journal, gpu_source=no_gpu(), poll_interval=1.0, theme="textual-dark")
        async with app.run_test(size=(160, 48)) as pilot:
            async def until(cond, what, timeout=30.0):
                t0 = time.monotonic()
                while not cond():
                    assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
                    await pilot.pause(0.02)

            st = app.state
            await until(lambda: st.summaries.get("subject") is not None
                        and st.summaries["subject"].step == 39, "step 39 while running")
            table = app.query_one("#runs")
            while table.current_id != "other":
                await pilot.press("down" if table._order.index("other") > table._order.index(table.current_id) else "up")
            await until(lambda: app.selected == "other", "cursor on the other run")
            assert "subject" not in app.poller.priority
            go.write_text("")
            seen = []

            def ended() -> bool:
                info = st.infos.get("subject")
                if info is None or info.alive:
                    return False
                s = st.summaries["subject"]
                seen.append((s.step, s.last))
                return True

            await until(ended, "the run's end")
            assert seen[0] == (100, 0.0123)
            await pilot.pause(0.3)
            s = st.summaries["subject"]
            assert (s.step, s.last) == (100, 0.0123)

    asyncio.run(main())


# --------------------------------------------------------------------------- metric direction

def test_goal_of_defaults_and_journal_goals():
    maxes = ["acc", "val/accuracy", "Acc@1", "f1", "precision", "recall", "auc", "mAP",
             "metrics/mAP50-95(B)", "val/iou", "dice", "psnr", "ssim", "bleu", "rougeL", "reward",
             "rollout/ep_rew_mean", "return", "inception_score", "modes", "samples_per_s", "it/s",
             "eval_samples_per_second", "valid_0's ndcg@1"]
    mins = ["loss", "val/loss", "train/box_loss", "Loss_D", "error", "top1_err", "perplexity",
            "ppl", "bpc", "wer", "cer", "fid", "fid_score", "swd", "EPE", "mse"]
    assert {n: M.goal_of(n) for n in maxes} == {n: "max" for n in maxes}
    assert {n: M.goal_of(n) for n in mins} == {n: "min" for n in mins}
    for unknown in ("lr", "grad_norm", "epoch", "widgets", "kl", "time"):
        assert M.goal_of(unknown) is None, unknown
    goals = {"psnr": "min", "widgets": "max"}
    assert M.goal_of("val/psnr", goals) == "min" and M.goal_of("widgets", goals) == "max"
    assert M.lower_is_better("loss") and not M.lower_is_better("psnr") and not M.lower_is_better("lr")


def _series(name, ys, x0=0):
    return Series(name, array("d", range(x0, x0 + len(ys))), array("d", ys),
                  array("d", [1000.0 + i for i in range(len(ys))]))


def test_best_follows_the_goal_in_summary_and_compare():
    psnr = _series("psnr", [20.0, 31.5, 30.0])
    s = summarize({"psnr": psnr}, {})
    assert (s.last, s.best, s.best_step) == (30.0, 31.5, 1)   # higher is better: not the minimum
    s = summarize({"psnr": psnr}, {}, goals={"psnr": "min"})
    assert (s.best, s.best_step) == (20.0, 0)
    s = summarize({"mystery": _series("mystery", [3.0, 1.0, 2.0])}, {})
    assert s.last == 2.0 and s.best is None                   # unknown: no best is claimed


def test_cliff_only_for_lower_is_better_by_goal():
    ys = [1.0 + 0.001 * (i % 7) for i in range(200)] + [9.0] * 20
    assert M.cliff_at({"mystery": _series("mystery", ys)}) is None
    assert M.cliff_at({"mystery": _series("mystery", ys)}, {"mystery": "min"}) == 200
    assert M.cliff_at({"loss": _series("loss", ys)}) == 200


GOAL_PROG = '''
for s in range(1, 31):
    print(f"epoch {(s - 1) // 10} step {s} loss: {1.0 / s:.4f} psnr: {20 + s % 7} quality: {s % 5}", flush=True)
'''


def test_ls_and_show_json_final_and_best(lab, tmp_path):
    prog = tmp_path / "sr.py"
    prog.write_text(GOAL_PROG)
    with open(lab.journal, "a", encoding="utf-8") as f:
        f.write(f'\n[experiments.sr]\ncommand = "python {prog}"\n'
                '[experiments.sr.metrics]\ngoals = { quality = "max" }\n')
    lab.labtui("run", "sr", "--name", "sr1", check=True)
    lab.wait_status("sr1", "finished")
    shown = json.loads(lab.labtui("show", "sr1", "--json", check=True).stdout)["metrics"]
    listed = json.loads(lab.labtui("ls", "--json", check=True).stdout)["runs"]
    assert [r["metrics"] for r in listed if r["id"] == "sr1"] == [shown]
    assert shown["loss"] == {"last": 0.0333, "step": 30, "best": 0.0333, "best_step": 30}
    assert shown["psnr"] == {"last": 22, "step": 30, "best": 26, "best_step": 6}
    assert shown["quality"] == {"last": 0, "step": 30, "best": 4, "best_step": 4}
    assert "epoch" not in shown


# --------------------------------------------------------------------------- progress

def test_progress_epochs_over_epochs_with_rate_and_eta(tmp_path):
    """A template with ``epochs = 20`` and a text log of steps and epochs: epoch 3/20 with an
    epoch rate and ETA, never ``310/20`` (steps over the epoch count)."""
    p = tmp_path / "out.log"
    p.write_text("".join(f"Epoch {s // 100} | step {s} | loss {1.0 / s:.4f}\n" for s in range(10, 311, 10)))
    m = parse_file(p)
    assert m.x_axis == "step" and "epoch" in m.series
    ep = m.series["epoch"]
    assert list(ep.y)[-1] == 3 and list(ep.x)[-1] == 310
    ser = {k: v.copy() for k, v in m.series.items()}
    for v in ser.values():  # one line per second
        v.wall = array("d", [1000.0 + x / 10 for x in v.x])
    s = summarize(ser, {"epochs": 20}, x_axis=m.x_axis)
    assert (s.extra["unit"], s.epoch, s.total, s.step) == ("epoch", 3, 20, 310)
    assert s.rate is not None and 0.05 < s.rate < 0.15              # epochs per second
    assert s.eta is not None and 100 < s.eta < 400                  # 17 epochs at ~0.1/s
    s = summarize(ser, {"total_steps": 1000}, x_axis=m.x_axis)
    assert (s.extra["unit"], s.total, s.rate, s.eta) == ("step", 1000, 10.0, 69.0)
    # epochs param but no epoch logged: no total at all (never steps over epochs)
    s = summarize({"loss": ser["loss"]}, {"epochs": 20}, x_axis="step")
    assert s.total is None and s.extra.get("unit", "step") == "step"


def test_epoch_axis_for_text_logs(tmp_path):
    """Epochs in a text log are kept (an ``epoch`` series), so the epoch x axis has points."""
    p = tmp_path / "out.log"
    p.write_text("".join(f"epoch {e} iter {i * 50}/200 loss {2.0 / (e * 4 + i + 1):.4f}\n"
                         for e in range(3) for i in range(4)))
    m = parse_file(p)
    ep = m.series["epoch"]
    assert len(ep) == len(m.series["loss"]) == 12
    assert list(ep.y)[:5] == [0.0, 0.25, 0.5, 0.75, 1.0]
