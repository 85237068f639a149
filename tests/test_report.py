"""labtui compare / plot --out / report: real CLI processes on a fixed-clock lab, real matplotlib."""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import Lab
from tests.report_lab import make_lab

import markdown_it  # noqa: E402

from matplotlib import image as mpimg  # noqa: E402

from tui.core.report import markdown as MD  # noqa: E402
from tui.core.report.plot import COLORS  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "data" / "report" / "report.md"


@pytest.fixture
def rlab(tmp_path: Path) -> Lab:
    make_lab(tmp_path)
    return Lab(tmp_path)


def _md():
    # html=True: the strictest check; raw HTML in the source would come out as HTML
    return markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table")


# ----------------------------------------------------------------------------- compare

def test_compare_csv_matches_metrics_json(rlab: Lab):
    p = rlab.labtui("compare", "--experiment", "gan", "--csv", check=True)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert [r["run"] for r in rows] == ["gan_1", "gan_2", "gan_2.1", "gan_3"]
    assert "g_lr" in rows[0] and "d_lr" in rows[0]  # the params that differ
    checked = 0
    for r in rows:
        doc = json.loads(rlab.labtui("metrics", r["run"], "--json", check=True).stdout)
        for name, s in doc["metrics"].items():
            pts = [(x, y) for x, y in zip(s["x"], s["y"]) if isinstance(y, (int, float)) and math.isfinite(y)]
            if not pts:
                assert r[f"{name}:last"] == ""
                continue
            assert float(r[f"{name}:last"]) == pts[-1][1]
            lo = min(y for _, y in pts)  # loss_d, loss_g: lower is better
            assert float(r[f"{name}:best"]) == lo
            assert float(r[f"{name}:best_step"]) == next(x for x, y in pts if y == lo)
            checked += 1
    assert checked >= 6


def test_compare_json_is_show_json_metrics(rlab: Lab):
    doc = json.loads(rlab.labtui("compare", "gan_1", "gan_2.1", "cnn_2", "--json", check=True).stdout)
    assert [r["id"] for r in doc["runs"]] == ["gan_1", "gan_2.1", "cnn_2"]
    for r in doc["runs"]:
        show = json.loads(rlab.labtui("show", r["id"], "--json", check=True).stdout)
        assert r["metrics"] == {m: v for m, v in show["metrics"].items() if m in doc["metrics"]}
    # params that differ across the three: g_lr (gan_1 vs gan_2.1), and the ones some runs lack
    assert set(doc["params"]) == {"g_lr", "d_lr", "lr"}


def test_compare_acc_best_is_max_and_metrics_option(rlab: Lab):
    doc = json.loads(rlab.labtui("compare", "--experiment", "cnn", "--metrics", "acc", "--json", check=True).stdout)
    assert doc["metrics"] == ["acc"]
    cnn2 = next(r for r in doc["runs"] if r["id"] == "cnn_2")
    assert cnn2["metrics"]["acc"]["best"] == pytest.approx(0.1 + 100 / 150)
    assert cnn2["metrics"]["acc"]["best_step"] == 100


def test_compare_text_md_transpose_and_tag(rlab: Lab):
    p = rlab.labtui("compare", "--tag", "baseline", check=True)
    lines = p.stdout.splitlines()
    assert lines[0].split()[:3] == ["run", "experiment", "status"] and lines[1].startswith("gan_1 ")
    assert len(lines) == 2
    p = rlab.labtui("compare", "--experiment", "cnn", "--transpose", check=True)
    first = p.stdout.splitlines()[0].split()
    assert first == ["run", "cnn_1", "cnn_2"]
    p = rlab.labtui("compare", "--experiment", "cnn", "--md", "--transpose", check=True)
    tokens = _md().parse(p.stdout)
    assert any(t.type == "table_open" for t in tokens)
    assert p.stdout.splitlines()[0] == "| run | cnn\\_1 | cnn\\_2 |"


def test_compare_errors_are_one_line(rlab: Lab):
    p = rlab.labtui("compare")
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "--tag" in p.stderr
    p = rlab.labtui("compare", "nope")
    assert p.returncode == 1 and "unknown run 'nope'" in p.stderr
    p = rlab.labtui("compare", "--tag", "no-such-tag")
    assert p.returncode == 1 and "no run matches" in p.stderr


# ----------------------------------------------------------------------------- plot --out

def _rgb(hexcolor: str):
    return tuple(int(hexcolor[i:i + 2], 16) / 255 for i in (1, 3, 5))


def _pixels_of(img, hexcolor: str, tol: float = 0.03) -> int:
    c = np.array(_rgb(hexcolor))
    return int((np.abs(img[:, :, :3] - c).max(axis=2) < tol).sum())


def test_plot_png_decodes_with_size_and_two_line_colours(rlab: Lab, tmp_path: Path):
    out = tmp_path / "pic.png"
    p = rlab.labtui("plot", "gan_1", "gan_2.1", "-m", "loss_d", "--out", str(out),
                    "--width", "800", "--height", "500", "--smooth", "0.5", check=True)
    assert p.stdout.strip() == f"wrote {out}"
    img = mpimg.imread(str(out))
    assert img.shape[:2] == (500, 800)
    assert _pixels_of(img, COLORS[0]) > 100 and _pixels_of(img, COLORS[1]) > 100


def test_plot_svg_one_path_per_series(rlab: Lab, tmp_path: Path):
    out = tmp_path / "pic.svg"
    rlab.labtui("plot", "gan_1", "gan_2.1", "gan_3", "-m", "loss_d", "-m", "loss_g", "--out", str(out),
                "--x", "step", "--log", check=True)
    root = ET.parse(out).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    groups = {g.get("id"): g for g in root.iter(f"{ns}g") if (g.get("id") or "").startswith("series-")}
    # loss_d: three runs; loss_g: gan_3's log has no loss_g
    assert sorted(groups) == ["series-0-0", "series-0-1", "series-0-2", "series-1-0", "series-1-1"]
    for g in groups.values():
        assert len(list(g.iter(f"{ns}path"))) == 1
    # gan_2.1 resumed gan_2 at step 100: its resume point is marked on both panels
    assert any((g.get("id") or "").startswith("resume-0-1-") for g in root.iter(f"{ns}g"))
    assert root.get("width") == "720pt"  # 1000 px at 100 dpi = 10 in


@pytest.mark.parametrize("axis", ["epoch", "time"])
def test_plot_other_x_axes(rlab: Lab, tmp_path: Path, axis: str):
    out = tmp_path / f"{axis}.svg"
    rlab.labtui("plot", "cnn_1", "cnn_2", "-m", "acc", "--x", axis, "--out", str(out), check=True)
    root = ET.parse(out).getroot()
    ids = [g.get("id") for g in root.iter("{http://www.w3.org/2000/svg}g")]
    # no epoch series in these runs: nothing to draw by epoch, said on the picture
    assert len([i for i in ids if (i or "").startswith("series-")]) == (0 if axis == "epoch" else 2)


def test_plot_out_of_a_log_file_and_errors(rlab: Lab, tmp_path: Path):
    out = tmp_path / "log.png"
    rlab.labtui("plot", str(rlab.run_dir("gan_3") / "output.log"), "--out", str(out), check=True)
    assert mpimg.imread(str(out)).shape[:2] == (600, 1000)
    p = rlab.labtui("plot", "gan_1", "--out", str(tmp_path / "x.jpg"))
    assert p.returncode == 1 and ".png or .svg" in p.stderr
    p = rlab.labtui("plot", "gan_1", "gan_2")
    assert p.returncode == 1 and "--out" in p.stderr


# ----------------------------------------------------------------------------- report

def _report(rlab: Lab, *args: str) -> tuple[Path, str]:
    out = rlab.root / "rep"
    p = rlab.labtui("report", "--out", str(out), *args, check=True)
    assert p.stdout.strip() == f"wrote {out / 'report.md'}"
    return out, (out / "report.md").read_text(encoding="utf-8")


def test_report_matches_golden(rlab: Lab):
    _out, text = _report(rlab)
    if os.environ.get("LABTUI_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_report_renders_inert_and_every_image_resolves(rlab: Lab):
    out, text = _report(rlab)
    rendered = _md().render(text)
    assert "<script" not in rendered and "<b>" not in rendered
    assert not re.search(r"""(?:href|src)\s*=\s*["']?\s*javascript:""", rendered, re.I)
    # the notes read literally
    plain = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert "<script>alert(1)</script> see [here](javascript:alert(1))" in plain
    assert "baseline **bold** _it_ <b>html</b> | pipe # not a heading" in plain
    assert "killed gan_2 after 20 min: 損失が発散した (loss diverged)" in plain
    assert "ValueError: d_lr 0.1 is too high" in plain
    srcs = re.findall(r'<img src="([^"]+)"', rendered)
    assert len(srcs) == 4
    for s in srcs:
        assert not os.path.isabs(s) and ".." not in s
        img = mpimg.imread(str(out / s))
        assert img.shape[:2] == (450, 900)
    assert sorted(p.name for p in (out / "img").iterdir()) == sorted(Path(s).name for s in srcs)
    # tables render as tables (one per experiment)
    assert rendered.count("<table>") == 2


def test_report_period_and_selection(rlab: Lab):
    _out, text = _report(rlab, "--since", "2025-03-03", "--until", "2025-03-03", "--no-images")
    assert "### 2025-03-03" in text and "### 2025-03-02" not in text
    assert "### gan" in text and "### cnn" not in text and "![" not in text
    assert "**gan\\_3**" in text and "| gan\\_1 |" not in text
    _out, text = _report(rlab, "--experiment", "cnn", "--no-images")
    assert "gan" not in text
    p = rlab.labtui("report", "--since", "March", "--out", str(rlab.root / "r2"))
    assert p.returncode == 1 and "YYYY-MM-DD" in p.stderr and not (rlab.root / "r2").exists()


@pytest.mark.parametrize("s", [
    "<script>alert(1)</script>", "[x](javascript:alert(1))", "![i](javascript:x)", "**b** _i_ `c` ~~s~~",
    "a | b", "&amp; &lt;", "$x^2$", "# h", "1. x", "<!-- c -->", "\\*", "http://example.com/<x>", "損失 ✓",
])
def test_markdown_text_renders_literally(s: str):
    rendered = _md().renderInline(MD.text(s))
    assert "<" not in rendered.replace("&lt;", "")
    assert html.unescape(rendered) == s


def test_report_of_a_live_run_then_its_kill(lab: Lab):
    """A real running run: launched in the diary, running in its table; killed with a CJK reason
    afterwards, the next report says so (and the kill's note is not said twice)."""
    lab.labtui("run", "--name", "live", "--", "sleep", "120", check=True)
    try:
        assert lab.wait_status("live", "running") == "running"
        out = lab.root / "rep"
        lab.labtui("report", "--out", str(out), "--no-images", check=True)
        text = (out / "report.md").read_text(encoding="utf-8")
        assert "launched **live**: `sleep 120`" in text
        assert "| live | - | running |" in text
    finally:
        lab.labtui("kill", "live", "--grace", "5", "--reason", "停止 <i>now</i>", check=True)
    lab.labtui("report", "--out", str(out), "--no-images", check=True)
    text = (out / "report.md").read_text(encoding="utf-8")
    assert re.search(r"killed \*\*live\*\*( after \d+ s)?: 停止 \\<i\\>now\\</i\\>\n", text), text
    assert "note on **live**" not in text


def test_report_diary_says_queued_stopped_by_a_rule_and_cancelled(lab: Lab):
    """Real runs: one stopped by its rule (the diary names the rule and the value), one queued
    --after it (queued, then launched), one queued and cancelled with a reason before it started."""
    values = str(Path(__file__).parent / "progs" / "values.py")
    lab.labtui("run", "--name", "s", "--stop-when", "val_loss < 0.5", "--",
               "python", values, "val_loss", "0.9", "0.7", "0.4", "0.3", check=True)
    lab.labtui("run", "--name", "next", "--after", "s", "--", "python", values, "loss", "1", "--end", check=True)
    lab.labtui("run", "--name", "never", "--after", "s:finished", "--", "true", check=True)
    assert lab.wait_status("s", "stopped", timeout=90) == "stopped"
    assert lab.wait_status("next", "finished", timeout=90) == "finished"
    assert lab.wait_status("never", "cancelled", timeout=90) == "cancelled"
    out = lab.root / "rep"
    lab.labtui("report", "--out", str(out), "--no-images", check=True)
    text = (out / "report.md").read_text(encoding="utf-8")
    assert re.search(r"stopped \*\*s\*\*( after \d+ s)? by its rule: val\\_loss 0\.4 \\< 0\.5 at step 3\n", text), text
    assert "queued **next** after s: `" in text and "launched **next**" in text
    assert re.search(r"cancelled \*\*never\*\* before it started: after s:finished: s stopped", text), text
    lines = text.splitlines()
    assert lines.index(next(x for x in lines if "queued **next**" in x)) < \
        lines.index(next(x for x in lines if "launched **next**" in x))
