"""The runs table's columns chosen in the user config (``columns = [...]``); bad names refused."""

from __future__ import annotations

import pytest

from tui.app.widgets.runs_table import COLUMN_ALIASES, COLUMN_NAMES, fit_columns
from tui.core import config
from tui.core.errors import UserError


def write(tmp_path, text: str):
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_columns_from_the_config_in_the_users_order(tmp_path):
    p = write(tmp_path, 'columns = ["run", "status", "age", "last", "best", "verdict", "age"]\n[keys]\nkill = "K"\n')
    assert config.load_columns(COLUMN_NAMES, COLUMN_ALIASES, p) == ["id", "status", "age", "last", "best", "tags"]
    assert config.load_keymap({"kill"}, p) == {"kill": "K"}
    assert config.load_columns(COLUMN_NAMES, COLUMN_ALIASES, write(tmp_path, '[keys]\nkill = "K"\n')) is None


@pytest.mark.parametrize("text, want", [
    ('columns = ["id", "loss", "age"]\n', "columns: 'loss' is not a column; known: id, experiment, status"),
    ('columns = ["id", 3]\n', "columns: 3 is not a column"),
    ('columns = "id,status"\n', "columns = 'id,status': a list of column names"),
    ('columns = []\n', "columns = []: a list of column names"),
])
def test_unknown_column_is_one_line_naming_the_value(tmp_path, text, want):
    p = write(tmp_path, text)
    with pytest.raises(UserError) as e:
        config.load_columns(COLUMN_NAMES, COLUMN_ALIASES, p)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(p)) and want in msg, msg


def test_columns_written_under_keys_get_a_hint(tmp_path):
    p = write(tmp_path, '[keys]\nkill = "K"\ncolumns = ["id"]\n')
    with pytest.raises(UserError, match=r"'columns' is not a binding id \(TOML: a top-level `columns"):
        config.load_keymap({"kill"}, p)


def test_bad_columns_stop_labtui_before_the_app(lab, tmp_path):
    p = write(tmp_path, 'columns = ["id", "stauts"]\n')
    r = lab.labtui(env={config.CONFIG_ENV: str(p)}, timeout=60)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "columns: 'stauts' is not a column" in r.stderr, r.stderr


def test_narrow_drops_the_columns_the_default_hides_first():
    widths = {"id": 14, "status": 10, "age": 4, "last": 6, "best": 6, "tags": 12, "experiment": 10}
    cols = ["id", "status", "tags", "age", "last", "best"]
    assert fit_columns(cols, widths, 200) == cols
    assert fit_columns(cols, widths, 60) == ["id", "status", "tags", "age", "last"]   # 56 cells
    assert fit_columns(cols, widths, 45) == ["id", "status", "age", "last"]
    assert fit_columns(cols, widths, 10) == ["id", "status", "age", "last"]           # then it scrolls
