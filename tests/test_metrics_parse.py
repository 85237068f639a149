"""Default text formats, CSV files and user patterns against a corpus of real-world log shapes."""

import json
import math
from pathlib import Path

import pytest

from tui.core.errors import UserError
from tui.core.metrics import Patterns, RunMetrics, parse_file, patterns_for_run

DATA = Path(__file__).parent / "data" / "logs"
CASES = sorted(p.name.removesuffix(".expected.json") for p in DATA.glob("*.expected.json"))


def _dec(v):
    return float(v) if isinstance(v, str) else v


def _same(a, b):
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) or x == y or abs(x - y) < 1e-6 for x, y in zip(a, b))


@pytest.mark.parametrize("case", CASES)
def test_corpus(case):
    exp = json.loads((DATA / f"{case}.expected.json").read_text(encoding="utf-8"))
    src = DATA / case if (DATA / case).is_dir() else DATA / f"{case}.log"
    if src.is_dir():
        m = RunMetrics(src)
        m.poll()
    else:
        m = parse_file(src)
    assert m.x_axis == exp["x_axis"]
    if all("count" in e for e in exp["metrics"].values()):  # summary form (count, first, last, min)
        assert sorted(m.series) == sorted(exp["metrics"])       # every series, and no false one
        for name, e in exp["metrics"].items():
            y = [v for v in m.series[name].y]
            got = {"count": len(y), "first": y[0], "last": y[-1], "min": min(y)}
            assert got["count"] == e["count"] and _same([got[k] for k in ("first", "last", "min")],
                                                        [_dec(e[k]) for k in ("first", "last", "min")]), (name, got)
        return
    assert list(m.series) == list(exp["metrics"])
    for name, e in exp["metrics"].items():
        s = m.series[name]
        assert _same(list(s.x), e["x"]), name
        assert _same(list(s.y), [_dec(v) for v in e["y"]]), name
        assert len(s.wall) == len(s.x)


def test_corpus_is_not_trivial():
    assert len(CASES) >= 12


def parse_text(tmp_path, text, patterns=None):
    p = tmp_path / "out.log"
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return parse_file(p, patterns)


def test_gan_line_fractional_epoch_and_nan(tmp_path):
    m = parse_text(tmp_path, "===> Epoch[10](53/54):  Loss_DI: 0.2409 lr_g = 0.0001000\n"
                             "===> Epoch[11](1/54):  Loss_DI: nan lr_g = 1e-4\n")
    assert m.x_axis == "epoch"
    assert list(m.series["Loss_DI"].x) == [10 + 53 / 54, 11 + 1 / 54]
    assert math.isnan(m.series["Loss_DI"].y[1])
    assert list(m.series["lr_g"].y) == [0.0001, 0.0001]


def test_not_metrics_log_has_no_series():
    assert parse_file(DATA / "not_metrics.log").series == {}


def test_units_sci_inf(tmp_path):
    m = parse_text(tmp_path, "step 1 time=35.2ms gpu_util: 2.1% loss=1.5E+01\n"
                             "step 2 time=36ms gpu_util: 3% loss=-inf\n")
    assert list(m.series["time"].y) == [35.2, 36.0]
    assert list(m.series["gpu_util"].y) == [2.1, 3.0]
    assert m.series["loss"].y[0] == 15.0 and m.series["loss"].y[1] == -math.inf


def test_counts_versions_dates_rejected(tmp_path):
    m = parse_text(tmp_path, "".join(f"step {i} params: 1.2M date: 2024-01-0{i} ver: 1.2.{i} "
                                     f"at 12:00:0{i} n_tokens: 1,234,567 loss: 0.{i}\n" for i in range(1, 4)))
    assert list(m.series) == ["loss"]


def test_crlf_and_carriage_returns(tmp_path):
    m = parse_text(tmp_path, b"step 1 loss 0.5\r\nstep 2 loss 0.4\rstep 3 loss 0.3\n")
    assert list(m.series["loss"].x) == [1, 2, 3]


def test_user_pattern_adds_and_replaces(tmp_path):
    text = "".join(f"it {i} | D {0.1 * i:.2f} | G {0.2 * i:.2f} loss: {i}\n" for i in range(1, 4))
    both = parse_text(tmp_path, text, Patterns([(None, r"\| D (?P<d_loss>\S+) \| G (?P<g_loss>\S+)")]))
    assert set(both.series) == {"d_loss", "g_loss", "loss"}
    assert list(both.series["d_loss"].y) == [0.1, 0.2, 0.3]
    only = parse_text(tmp_path, text, Patterns([(None, r"\| D (?P<d_loss>\S+)"),
                                                (None, r"^it (?P<step>\d+)")], defaults=False))
    assert set(only.series) == {"d_loss"}
    assert list(only.series["d_loss"].x) == [1, 2, 3]


def test_guild_style_scalars_and_key_value(tmp_path):
    text = "step: 5\nacc is 0.5\nmetric top5=0.9\nstep: 6\nacc is 0.6\nmetric top5=0.95\n"
    pats = Patterns([("accuracy", r"acc is (\value)"), (None, r"metric \key=\value")], defaults=False)
    m = parse_text(tmp_path, text, pats)
    assert list(m.series["accuracy"].y) == [0.5, 0.6]
    assert list(m.series["top5"].y) == [0.9, 0.95]


def test_bad_regex_names_the_experiment():
    data = {"experiments": {"gan": {"command": "x", "metrics": {"patterns": ["loss: (?P<loss>"]}}},
            "runs": {"r1": {"experiment": "gan"}}}
    with pytest.raises(UserError, match="experiment gan"):
        patterns_for_run(data, "r1")
    data["experiments"]["gan"]["metrics"] = {"patterns": ["loss: (\\S+)"]}
    with pytest.raises(UserError, match="named group"):
        patterns_for_run(data, "r1")
    data["experiments"]["gan"]["metrics"] = {"pattern": []}
    with pytest.raises(UserError, match="unknown metrics keys"):
        patterns_for_run(data, "r1")


def test_tracebacks_and_warnings_are_not_metrics(tmp_path):
    m = parse_text(tmp_path, "step 1 loss 1\nTraceback (most recent call last):\n"
                             '  File "a.py", line 12, in f\n    loss = 3.0\nValueError: loss 5\n'
                             "x.py:3: UserWarning: loss 9.0\nstep 2 loss 2\n")
    assert list(m.series["loss"].y) == [1, 2]
    assert m.last_traceback.endswith("ValueError: loss 5")


def test_jsonl_exact(tmp_path):
    p = tmp_path / "metrics.jsonl"
    p.write_text('{"step": 1, "epoch": 0.5, "time": 1700000000.5, "loss_g": 0.3, "flag": true}\n'
                 '{"step": 2, "epoch": 1.0, "time": 1700000001.5, "loss_g": NaN}\n')
    m = parse_file(p)
    assert m.x_axis == "step" and list(m.series) == ["loss_g", "epoch"]  # epoch: the epoch x axis
    assert list(m.series["loss_g"].wall) == [1700000000.5, 1700000001.5]
    assert list(m.series["epoch"].x) == [1, 2] and list(m.series["epoch"].y) == [0.5, 1.0]
