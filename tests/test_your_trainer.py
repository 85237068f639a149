"""Issue 11: the user's own trainer, unchanged.  Real processes following four real
conventions (tests/progs/*_style.py): nanoGPT (config relative to the cwd, out_dir/ckpt.pt,
--init_from=resume), HF Trainer (checkpoint-N/, --resume_from_checkpoint), Lightning
(lightning_logs/version_K/checkpoints/epoch=E-step=S.ckpt, --ckpt_path) and a staged pipeline
(--init-from).  Each is launched from a template with a cwd, killed gracefully, resumed from
the CLI twice, and must really continue: first logged step == checkpoint step + 1, and the
stitched curve holds every step exactly once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from tui.core import runs
from tui.core.checkpoints import list_checkpoints, name_step
from tui.core.journal import Journal

from .conftest import PROGS, ROOT, cli_env, wait_for

ITER_RE = re.compile(r"^iter (\d+):", re.M)


def steps(lab, run_id: str) -> list[int]:
    try:
        text = (lab.run_dir(run_id) / "output.log").read_text()
    except FileNotFoundError:
        return []
    return [int(m) for m in ITER_RE.findall(text)]


def add_templates(lab, text: str) -> None:
    lab.journal.write_text(lab.journal.read_text() + "\n" + text, encoding="utf-8")


def kill_after(lab, run_id: str, n: int) -> list[int]:
    """Let the run log ``n`` more steps than it started with, stop it gracefully."""
    wait_for(lambda: len(steps(lab, run_id)) >= n, f"{run_id} logging {n} steps")
    lab.labtui("kill", run_id, "--grace", "20", check=True)
    lab.wait_status(run_id, "killed")
    return steps(lab, run_id)


def stitched_steps(lab, run_id: str) -> list[float]:
    r = lab.labtui("metrics", run_id, "--stitch", "--json", check=True)
    return json.loads(r.stdout)["metrics"]["loss"]["x"]


def resume_chain(lab, first: str, ckpt_step, n: int = 8) -> str:
    """Resume ``first`` twice from the CLI; each continuation starts at its checkpoint + 1."""
    run_id = first
    for k in (1, 2):
        step = ckpt_step(run_id)
        r = lab.labtui("resume", run_id, check=True)
        assert "no resume recipe" not in r.stderr
        child = f"{first}.{k}"
        assert r.stdout.startswith(f"started {child} ")
        got = kill_after(lab, child, n)
        assert got[0] == step + 1 > 1, (child, got[:3], step)
        assert got == list(range(step + 1, got[-1] + 1))
        run_id = child
    xs = stitched_steps(lab, run_id)
    assert xs == list(range(1, int(xs[-1]) + 1)), xs  # every step exactly once, none missing
    return run_id


def test_nanogpt_style_cwd_config_and_resume(lab):
    repo = lab.root / "nanorepo"
    (repo / "config").mkdir(parents=True)
    (repo / "config" / "toy.py").write_text('config_name = "toy"\n')
    add_templates(lab, (
        "[experiments.nano]\n"
        'cwd = "nanorepo"\n'
        'command = "python {prog} config/toy.py --out_dir={out_dir} --init_from={init_from}"\n'
        f'params = {{ prog = "{PROGS / "nano_style.py"}", out_dir = "out/{{run_id}}", init_from = "scratch" }}\n'
        'checkpoints = ["{out_dir}/ckpt.pt"]\n'
        "[experiments.nano.resume]\n"
        'set = { init_from = "resume" }\n'))
    lab.labtui("run", "nano", check=True)
    kill_after(lab, "nano_1", 7)
    rec = Journal(lab.journal).read()["runs"]["nano_1"]
    assert rec["cwd"] == str(repo) and rec["params"]["out_dir"] == "out/nano_1"
    ckpt = repo / "out" / "nano_1" / "ckpt.pt"
    listed = json.loads(lab.labtui("checkpoints", "nano_1", "--json", check=True).stdout)["checkpoints"]
    assert [(c["path"], c["step"], c["newest"]) for c in listed] == [(str(ckpt), None, True)]
    assert "cwd          " + str(repo) in lab.labtui("show", "nano_1", check=True).stdout

    def ckpt_step(_run_id):
        return json.loads(ckpt.read_text())["iter_num"]

    last = resume_chain(lab, "nano_1", ckpt_step)
    assert Journal(lab.journal).read()["runs"][last]["params"]["init_from"] == "resume"


def test_hf_style_checkpoint_folders_and_resume_args(lab):
    (lab.root / "hfwork").mkdir()
    add_templates(lab, (
        "[experiments.hf]\n"
        'cwd = "hfwork"\n'
        'command = "python {prog} --output_dir output/{run_id}"\n'
        f'params = {{ prog = "{PROGS / "hf_style.py"}" }}\n'
        'checkpoints = ["output/{run_id}/checkpoint-*"]\n'
        "[experiments.hf.resume]\n"
        'args = "--resume_from_checkpoint {resume_from}"\n'))
    lab.labtui("run", "hf", check=True)
    got = kill_after(lab, "hf_1", 12)
    listed = json.loads(lab.labtui("checkpoints", "hf_1", "--json", check=True).stdout)["checkpoints"]
    assert listed[0]["step"] == got[-1] and listed[0]["newest"] and listed[0]["name"] == f"checkpoint-{got[-1]}"
    assert [c["step"] for c in listed] == sorted({*range(5, got[-1] + 1, 5), got[-1]}, reverse=True)

    def ckpt_step(run_id):
        return steps(lab, run_id)[-1]

    resume_chain(lab, "hf_1", ckpt_step)
    rec = Journal(lab.journal).read()["runs"]["hf_1.1"]
    assert rec["resume_step"] == got[-1]
    assert rec["command"].endswith(f"--resume_from_checkpoint {lab.root}/hfwork/output/hf_1/checkpoint-{got[-1]}")
    # --from by step: an older checkpoint of the same run
    r = lab.labtui("resume", "hf_1", "--from", "5", check=True)
    assert "hf_1.3" in r.stdout
    assert Journal(lab.journal).read()["runs"]["hf_1.3"]["resume_step"] == 5
    kill_after(lab, "hf_1.3", 1)
    assert steps(lab, "hf_1.3")[0] == 6


def test_lightning_style_keeps_the_parents_point_at_the_resume_step(lab):
    add_templates(lab, (
        "[experiments.pl]\n"
        'cwd = "."\n'
        'command = "python {prog} --default_root_dir {run_dir}"\n'
        f'params = {{ prog = "{PROGS / "lightning_style.py"}" }}\n'
        'checkpoints = ["{run_dir}/lightning_logs/*/checkpoints/*.ckpt"]\n'
        "[experiments.pl.resume]\n"
        'args = "--ckpt_path {resume_from}"\n'))
    lab.labtui("run", "pl", check=True)
    got = kill_after(lab, "pl_1", 7)
    cks = runs.get_run(lab.journal, "pl_1").run_dir.glob("lightning_logs/version_0/checkpoints/*.ckpt")
    assert [p.name for p in cks] == [f"epoch={got[-1] // 10}-step={got[-1]}.ckpt"]

    def ckpt_step(run_id):
        return steps(lab, run_id)[-1]

    last = resume_chain(lab, "pl_1", ckpt_step)
    data = Journal(lab.journal).read()["runs"]
    # the resume step comes from the checkpoint's name: the parent's point there is kept
    assert data["pl_1.1"]["resume_step"] == got[-1] and data[last]["resume_step"] == steps(lab, "pl_1.1")[-1]


def test_pipeline_stages_record_init_from(lab):
    (lab.root / "pipe").mkdir()
    prog = PROGS / "stage_style.py"
    add_templates(lab, (
        "[experiments.stage1]\n"
        'cwd = "pipe"\n'
        f'command = "python {prog} --stage 1 --save {{run_dir}}/weights.json"\n'
        'checkpoints = ["{run_dir}/weights.json"]\n'
        "[experiments.stage]\n"
        'cwd = "pipe"\n'
        f'command = "python {prog} --stage {{stage}} --pretrained {{init_from}} --save {{run_dir}}/weights.json"\n'
        "params = { stage = 2 }\n"
        'env = { STAGE_OF = "{run_id}" }\n'
        'checkpoints = ["{run_dir}/weights.json"]\n'))
    r = lab.labtui("run", "stage")  # {init_from} without --init-from: one line, nothing started
    assert r.returncode == 1 and "{init_from}" in r.stderr and "--init-from" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (lab.root / "logs").exists()
    lab.labtui("run", "stage1", check=True)
    lab.wait_status("stage1_1", "finished")
    lab.labtui("run", "stage", "--init-from", "stage1_1", check=True)
    lab.wait_status("stage_1", "finished")
    lab.labtui("run", "stage", "--set", "stage=3", "--init-from", "stage_1:weights.json", check=True)
    lab.wait_status("stage_2", "finished")
    assert json.loads((lab.run_dir("stage_2") / "weights.json").read_text()) == {"stages": [1, 2, 3]}
    rec = Journal(lab.journal).read()["runs"]["stage_2"]
    assert rec["init_from"] == "stage_1" and rec["init_checkpoint"] == str(lab.run_dir("stage_1") / "weights.json")
    assert "parent" not in rec and "resume_step" not in rec  # not a resume: its curve starts fresh
    ls = {d["id"]: d for d in json.loads(lab.labtui("ls", "--json", check=True).stdout)["runs"]}
    assert ls["stage_1"]["init_from"] == "stage1_1" and ls["stage1_1"]["init_from"] is None
    assert "init from    stage_1 (" in lab.labtui("show", "stage_2", check=True).stdout
    r = lab.labtui("run", "stage", "--init-from", "stage1_1:nope")
    assert r.returncode == 1 and "nope" in r.stderr and "weights.json" in r.stderr


def test_template_env_and_unknown_placeholders(lab):
    add_templates(lab, (
        "[experiments.envy]\n"
        '''command = "python -c 'import os; print(os.environ[\\"OUT\\"], os.environ[\\"MODE\\"], os.getcwd())'"\n'''
        'env = { OUT = "{run_dir}/x", MODE = "{mode}" }\n'
        'params = { mode = "fast" }\n'
        'cwd = "{run_dir}/work"\n'
        "[experiments.bad]\n"
        'command = "python -c pass"\n'
        'cwd = "{nope}"\n'))
    lab.labtui("run", "envy", "--set", "mode=slow", check=True)
    lab.wait_status("envy_1", "finished")
    d = lab.run_dir("envy_1")
    assert (d / "output.log").read_text().split() == [f"{d}/x", "slow", str(d / "work")]
    r = lab.labtui("run", "bad")
    assert r.returncode == 1 and "unknown placeholder {nope} in cwd" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not lab.run_dir("bad_1").exists()


def test_set_values_are_typed_against_the_default(lab):
    for bad in ("n=abc", "n=", "n=1.5", "code=true"):
        r = lab.labtui("run", "count", "--set", bad)
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, (bad, r.stderr)
        assert "is an integer" in r.stderr
    assert not (lab.root / "logs").exists()  # no run id used
    lab.labtui("run", "count", "--set", "n=2", check=True)
    assert (lab.root / "logs" / "count_1").is_dir()


def test_run_command_runs_where_typed_and_journal_is_found_above(lab):
    sub = lab.root / "repo" / "src"
    sub.mkdir(parents=True)
    p = subprocess.run([sys.executable, "-m", "tui.cli", "run", "--name", "here", "--",
                        "python", "-c", "import os; print(os.getcwd())"],
                       cwd=sub, capture_output=True, text=True, env=cli_env(), timeout=60)
    assert p.returncode == 0, p.stderr
    lab.wait_status("here", "finished")
    assert (lab.run_dir("here") / "output.log").read_text().strip() == str(sub)
    assert Journal(lab.journal).read()["runs"]["here"]["cwd"] == str(sub)
    # --cwd wins, relative to where labtui was typed
    p = subprocess.run([sys.executable, "-m", "tui.cli", "run", "--cwd", "..", "--name", "up", "--",
                        "python", "-c", "import os; print(os.getcwd())"],
                       cwd=sub, capture_output=True, text=True, env=cli_env(), timeout=60)
    assert p.returncode == 0, p.stderr
    lab.wait_status("up", "finished")
    assert (lab.run_dir("up") / "output.log").read_text().strip() == str(sub.parent)


def test_no_journal_anywhere_says_how_to_create_one(tmp_path_factory):
    d = tmp_path_factory.mktemp("nojournal")
    cmd = [sys.executable, "-m", "tui.cli", "run", "--", "python", "-c", "pass"]
    p = subprocess.run(cmd, cwd=d, capture_output=True, text=True, env=cli_env(), timeout=60)
    assert p.returncode == 1 and "labtui init" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert list(d.iterdir()) == []
    p = subprocess.run([sys.executable, "-m", "tui.cli", "init"], cwd=d, capture_output=True, text=True,
                       env=cli_env(), timeout=60)
    assert p.returncode == 0 and (d / "experiments.toml").read_text().startswith("# labtui journal")
    assert Journal(d / "experiments.toml").read() == {}
    p = subprocess.run(cmd, cwd=d, capture_output=True, text=True, env=cli_env(), timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("started run_1 "), p.stderr
    r = subprocess.run([sys.executable, "-m", "tui.cli", "init"], cwd=d, capture_output=True, text=True,
                       env=cli_env(), timeout=60)
    assert r.returncode == 1 and "already exists" in r.stderr


def test_continuing_a_user_named_run_numbers_after_it(lab):
    add_templates(lab, (
        "[runs.training_8]\n"
        'command = "python -c pass"\nstatus = "finished"\n'
        "[runs.training_11]\n"
        'command = "python -c pass"\nstatus = "finished"\nparent = "training_8"\n'))
    (lab.run_dir("training_11") / "checkpoints" / "step-40").mkdir(parents=True)
    lab.labtui("resume", "training_11", check=True)
    lab.wait_status("training_11.1", "finished")
    (lab.run_dir("training_11.1") / "checkpoints" / "step-80").mkdir(parents=True)
    lab.labtui("resume", "training_11.1", check=True)
    assert runs.lineage(lab.journal, "training_11.2") == ["training_8", "training_11", "training_11.1",
                                                           "training_11.2"]


def test_resume_without_recipe_warns(lab):
    add_templates(lab, (
        "[experiments.plain]\n"
        f'command = "python {PROGS / "hf_style.py"} --output_dir {{run_dir}}/out --max_steps 6"\n'
        'checkpoints = ["{run_dir}/out/checkpoint-*"]\n'))
    lab.labtui("run", "plain", check=True)
    lab.wait_status("plain_1", "finished")
    r = lab.labtui("resume", "plain_1", check=True)
    assert "this template has no resume recipe: the script may start from scratch" in r.stderr


def test_checkpoint_listing_skips_half_written(tmp_path):
    run_dir = tmp_path / "logs" / "r"
    out = tmp_path / "out"
    out.mkdir()
    (run_dir / "checkpoints" / "step-3").mkdir(parents=True)
    for n in ("model-10.pt", "model-20.pt", "model-30.pt.tmp", "tmp-model-40.pt", "model-50.pt"):
        (out / n).write_text("x")
    old = time.time() - 60
    for n in ("model-10.pt", "model-20.pt"):
        os.utime(out / n, (old, old))
    cks = list_checkpoints(run_dir, tmp_path, ["out/model-*"], alive=True)
    assert [(c.step, c.complete, c.newest) for c in cks] == [
        (3, True, False), (10, True, False), (20, True, True), (50, False, False)]
    cks = list_checkpoints(run_dir, tmp_path, ["out/model-*"], alive=False)
    assert [c.step for c in cks if c.newest] == [50]
    assert [name_step(n) for n in ("epoch=3-step=400.ckpt", "checkpoint-500", "model-803250", "ckpt.pt",
                                    "step-7")] == [400, 500, 803250, None, 7]


def test_git_info_recorded_and_code_diff_saved(lab):
    repo = lab.root / "gitrepo"
    repo.mkdir()
    g = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    (repo / "train.py").write_text("print('v1')\n")
    subprocess.run([*g[:3], "init", "-q", "-b", "main"], check=True)
    subprocess.run([*g, "add", "."], check=True)
    subprocess.run([*g, "commit", "-qm", "v1"], check=True)
    add_templates(lab, ('[experiments.g]\ncwd = "gitrepo"\ncommand = "python train.py"\n'))
    lab.labtui("run", "g", check=True)
    (repo / "train.py").write_text("print('v2')\n")
    (repo / "new.py").write_text("")
    lab.labtui("run", "g", check=True)
    data = Journal(lab.journal).read()["runs"]
    g1, g2 = data["g_1"]["git"], data["g_2"]["git"]
    assert g1["commit"] == g2["commit"] and g1["branch"] == "main" and not g1["dirty"] and g2["dirty"]
    assert not (lab.run_dir("g_1") / "code.diff").exists()
    diff = (lab.run_dir("g_2") / "code.diff").read_text()
    assert "+print('v2')" in diff and "new.py" in diff
    show = lab.labtui("show", "g_2", check=True).stdout
    assert f"commit {g1['commit'][:12]} on main, dirty (2 files" in show


def test_docs_name_every_new_verb():
    text = (ROOT / "docs" / "trainers.md").read_text(encoding="utf-8")
    for word in ("labtui init", "labtui checkpoints", "--init-from", "[experiments.nano.resume]", "{parent_run_dir}"):
        assert word in text, word


@pytest.fixture(autouse=True)
def _no_inherited_journal(monkeypatch):
    monkeypatch.delenv("LABTUI_JOURNAL", raising=False)
