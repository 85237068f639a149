"""The `labtui` entry points and packaging: what a fresh install and CI rely on."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import import_module

from tui import __version__
from tui.cli.main import build_parser
from tui.core.journal import tomllib

from .conftest import ROOT, cli_env

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERBS = {"run", "ls", "show", "log", "kill", "resume", "note", "tag", "metrics", "plot", "gpus", "demo",
         "init", "checkpoints"}
VERBS |= {"compare", "report"}  # tui/cli/report.py
VERBS |= {"queue"}  # tui/cli/queue.py


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Start here.*?```sh\n(.*?)```", text, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_console_script_and_module_entry_points():
    target = PYPROJECT["project"]["scripts"]["labtui"]
    mod, _, func = target.partition(":")
    assert callable(getattr(import_module(mod), func))
    r = subprocess.run([sys.executable, "-m", "tui.cli", "--version"], capture_output=True, text=True,
                       env=cli_env(), cwd=ROOT, timeout=60)
    assert (r.returncode, r.stdout.strip()) == (0, f"labtui {__version__}")


def test_every_verb_is_registered_and_takes_journal():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    assert set(sub.choices) == VERBS
    for name, p in sub.choices.items():
        assert any("--journal" in a.option_strings for a in p._actions), name


def test_torch_is_the_trainers_extra_not_a_monitor_dependency():
    project = PYPROJECT["project"]
    deps = [re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0].lower() for d in project["dependencies"]]
    assert "torch" not in deps
    extras = project["optional-dependencies"]
    assert extras["trainers"] == ["torch>=2.1,<3"]
    assert "labtui[trainers]" in extras["test"]  # the README's test command runs the trainers


def test_readme_commands_install_what_they_run_and_ci_runs_the_test_command_verbatim():
    demo, tests = _readme_commands()
    assert demo == "pip install torch==2.13.0 -e '.[trainers]' && labtui demo"
    assert tests == "pip install torch==2.13.0 -e '.[test]' && python -m pytest -q"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci


def test_the_app_alone_skips_the_verbs_imports(tmp_path):
    from tui.cli.main import app_only

    assert app_only([]) and app_only(["--journal", "x.toml"]) and app_only(["--colors=16", "--journal=x"])
    assert not app_only(["ls"]) and not app_only(["--journal", "x", "ls"]) and not app_only(["--journal"])
    assert not app_only(["--help"]) and not app_only(["--version"])
    # `labtui --journal X` (the app; here a missing journal: one line, exit 1) imports no verb module
    probe = ("import sys\nfrom tui.cli.main import main\nrc = main(['--journal', sys.argv[1]])\n"
             "print(rc, sorted(m for m in sys.modules if m.startswith('tui.cli.')))")
    r = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "none.toml")], capture_output=True,
                       text=True, env=cli_env(), cwd=ROOT, timeout=60)
    assert r.stdout.split()[0] == "1" and "no journal at" in r.stderr, (r.stdout, r.stderr)
    assert "tui.cli.demo" not in r.stdout and "tui.cli.runs" not in r.stdout, r.stdout
    r = subprocess.run([sys.executable, "-m", "tui.cli", "--journal", str(tmp_path / "none.toml"), "ls"],
                       capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=60)
    assert (r.returncode, r.stdout.split(" (")[0]) == (0, f"no runs yet in {tmp_path / 'none.toml'}"), r
