"""The user's config (~/.config/labtui/config.toml): a keymap of binding ids, bad files refused."""

from __future__ import annotations

import io

import pytest

from tests.test_app import sync
from tui.core import config
from tui.core.errors import UserError

IDS = {"kill", "log_scale", "help"}


def test_missing_config_is_no_config(tmp_path, monkeypatch):
    monkeypatch.delenv(config.CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.config_path() == tmp_path / "labtui" / "config.toml"
    assert config.load_config() == {}
    assert config.load_keymap(IDS) == {}


def test_keymap_from_env_path(tmp_path, monkeypatch):
    p = tmp_path / "my.toml"
    p.write_text('# mine\n[keys]\nkill = "K"\nlog_scale = " l , ctrl+l "\n', encoding="utf-8")
    monkeypatch.setenv(config.CONFIG_ENV, str(p))
    assert config.load_keymap(IDS) == {"kill": "K", "log_scale": "l,ctrl+l"}


@pytest.mark.parametrize("text, want", [
    ('[keys]\nkill = "K\n', ":2:"),                              # bad TOML: names the line
    ('[keys]\nkil = "K"\n', "'kil' is not a binding id; known: help, kill, log_scale"),
    ('[keys]\nkill = 3\n', "kill = 3"),
    ('[keys]\nkill = "K,"\n', "kill = 'K,'"),
    ('keys = "K"\n', "'keys' must be a table"),
])
def test_bad_config_is_one_line_naming_the_file(tmp_path, text, want):
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    before = p.read_bytes()
    with pytest.raises(UserError) as e:
        config.load_keymap(IDS, p)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(p)) and want in msg, msg
    assert p.read_bytes() == before


def test_bad_config_stops_labtui_before_the_app(lab, tmp_path):
    p = tmp_path / "config.toml"
    p.write_text('[keys]\nkil = "K"\n', encoding="utf-8")
    r = lab.labtui(env={config.CONFIG_ENV: str(p)}, timeout=60)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "'kil' is not a binding id" in r.stderr


@pytest.mark.parametrize("text, want", [
    ('[keys]\nkill = "q"\n', "[keys] kill = 'q' clashes with quit ('q') in the main screen"),
    ('[keys]\nlog_scale = "?"\n', "[keys] log_scale = '?' clashes with help ('question_mark') in the main screen"),
    ('[keys]\nnote_save = "escape"\n', "[keys] note_save = 'escape' clashes with dialog_cancel ('escape') in the note dialog"),
])
def test_keymap_clash_stops_labtui_before_the_app(lab, tmp_path, text, want):
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    r = lab.labtui(env={config.CONFIG_ENV: str(p)}, timeout=60)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith(f"labtui: {p}") and want in r.stderr, r.stderr


def test_keymap_clash_check_only_refuses_clashes_the_keymap_makes():
    scopes = {"main screen": [("quit", "q"), ("kill", "k"), ("back", "escape,q")]}
    config.check_clashes(scopes, {})                          # the defaults' own overlaps are not ours
    config.check_clashes(scopes, {"kill": "K,ctrl+k"})        # a free key
    config.check_clashes(scopes, {"kill": "q", "quit": "Q", "back": "escape"})  # moved out of the way
    with pytest.raises(UserError, match=r"x\.toml: \[keys\] kill = 'q' clashes with quit"):
        config.check_clashes(scopes, {"kill": "q"}, "x.toml")


@sync
async def test_app_keymap_rebinds_and_help_shows_it(tmp_path):
    from tests.snapshot_tests.labdata import no_gpu
    from tui.app.app import LabApp, binding_ids

    assert {"kill", "log_scale", "dialog_cancel", "detail_back"} <= binding_ids()
    j = tmp_path / "experiments.toml"
    j.write_text("", encoding="utf-8")
    app = LabApp(j, gpu_source=no_gpu(), poll_interval=0.2, theme="textual-dark",
                 keymap={"log_scale": "l"})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert app.plot_settings.log is False
        await pilot.press("y")  # the default key no longer does it
        await pilot.pause()
        assert app.plot_settings.log is False
        await pilot.press("l")
        await pilot.pause()
        assert app.plot_settings.log is True
        await pilot.press("question_mark")
        await pilot.pause()
        from rich.console import Console

        con = Console(width=120, record=True, file=io.StringIO())
        for w in app.screen.query("Static"):
            con.print(w.content)
        rows = [ln for ln in con.export_text().splitlines() if "log_scale" in ln]
        assert rows and rows[0].split()[0] == "l", rows
