"""The text parser's shape fast path (issue 12, first-parse throughput): lines whose ASCII digits,
made 0, give the same shape are cut at the number offsets of the first line of that shape.  It must
give the same series, segments and state as the general split path (``SHAPES = False``) on lines
whose shape matches but whose values or texts differ, on batches of mostly new shapes (which the
split path reads) and on real logs."""

from __future__ import annotations

import random

from tests.corpus_truth import CORPUS
from tui.core.metrics.parse import TextParser, split_lines


class SplitParser(TextParser):
    SHAPES = False


def _dump(p: TextParser):
    return repr(({k: (list(s.x), list(s.y), list(s.wall)) for k, s in p.series.items()},
                 [{k: (list(s.x), list(s.y)) for k, s in seg.items()} for seg in p.segments],
                 p.state()))


def _same(batches: list[list[str]]) -> TextParser:
    shape, split = TextParser(), SplitParser()
    for j, b in enumerate(batches):
        shape.feed(b, float(j), float(j + 1))
        split.feed(b, float(j), float(j + 1))
    assert _dump(shape) == _dump(split)
    return shape


# pairs of lines of one shape (digits made 0) whose values or texts differ in kind
TRICKY = [
    ("step 1 loss: 0.5 acc 97.5%", "step 2 loss: 0.7 acc 98.1%"),
    ("pal1 conf loss:7.3892 || pal1 loc loss:4.5080", "pal2 conf loss:5.2453 || pal2 loc loss:6.0576"),
    ("Epoch 3 top1 12.5 top5 40.0", "Epoch 4 top5 12.5 top1 40.0"),
    ("step 5 loss 1,234", "step 6 loss 5,678"),
    ("step 7 loss 1e-5", "step 8 loss 3e-7"),
    ("step 9 val nan loss 0.5", "step 9 val inf loss 0.5"),
    ("v1 step 3 x-3 loss 0.1", "v2 step 4 x-4 loss 0.2"),
    ("step 10 lr 0.001 loss=3.5ms", "step 11 lr 0.002 loss=3.6ms"),
    ("2024-01-01 12:00:00 step 12 loss 0.5", "2024-01-02 13:01:09 step 13 loss 0.4"),
    ("[main.py:109] step 14 loss 0.3", "[main.py:110] step 15 loss 0.2"),
    ("{'loss': 0.5, 'epoch': 1.25}", "{'loss': 0.4, 'epoch': 2.50}"),
    ("\u635f\u5931 step 16 loss 0.5 \u0663", "\u635f\u5931 step 17 loss 0.6 \u0663"),
    ("step 18 \u0131nf loss 0.5", "step 19 \u0131nf loss 0.4"),
    ("step 20 a\x00b loss 0.5", "step 21 a\x00b loss 0.6"),
    ("step 22 loss 0.5\nacc 3", "step 23 loss 0.6\nacc 4"),
    ("a1b 2 step 24", "a2b 3 step 25"),
]


def test_lines_of_one_shape_read_like_the_split_path():
    for a, b in TRICKY:
        # both orders, in one batch and in two: the second line reuses the first's shape
        for batches in ([[a, b]], [[a], [b]], [[b, a]], [[b], [a]], [[a, b, a, b, "x", a]]):
            _same(batches)
    p = _same([[ln for pair in TRICKY for ln in pair] * 3])
    assert "pal1 conf loss" in p.series and "pal2 conf loss" in p.series
    assert p.series["pal1 conf loss"].y[-1] == 7.3892 and p.series["pal2 conf loss"].y[-1] == 5.2453


def test_value_kinds_under_one_shape():
    # "step 0 loss 0.0" and "step 0 loss 0.0%" etc. share shapes; nan/inf/1e-5 differ from them
    vals = ["0.5", "nan", "inf", "-inf", "1e-5", "2E+3", "1,234", "97.5%", "3.", ".5", "-0.1", "NaN"]
    rnd = random.Random(5)
    lines = [f"step {i} loss {rnd.choice(vals)} acc {rnd.choice(vals)}" for i in range(400)]
    p = _same([lines[:150], lines[150:]])
    assert len(p.series["loss"]) > 300


def _perturbed(lines: list[str], rnd: random.Random) -> list[str]:
    """The lines with their digits changed (same shapes, other values and texts)."""
    out = []
    for ln in lines:
        out.append("".join(rnd.choice("0123456789") if c.isdigit() and c.isascii() and rnd.random() < 0.5 else c
                           for c in ln))
    return out


def test_real_logs_read_like_the_split_path():
    rnd = random.Random(11)
    for p in sorted(CORPUS.iterdir()):
        if p.name.endswith(".json"):
            continue
        lines = split_lines(p.read_bytes())[:600]
        lines = lines + _perturbed(lines, rnd)
        cut = rnd.randrange(1, len(lines)) if len(lines) > 1 else 1
        _same([lines[:cut], lines[cut:]])


def test_a_batch_of_new_shapes_goes_to_the_split_path_and_reads_the_same():
    rnd = random.Random(2)
    # numbers of widely varying width: nearly every line a new shape
    lines = [f"step {i} loss {rnd.randrange(10 ** rnd.randint(1, 40))}.{rnd.randrange(10 ** rnd.randint(1, 40))}"
             for i in range(2000)]
    shape, split = TextParser(), SplitParser()
    for j in range(0, 2000, 500):
        shape.feed(lines[j:j + 500], float(j), float(j + 500))
        split.feed(lines[j:j + 500], float(j), float(j + 500))
    assert shape._shape_skip > 0   # the fallback ran
    assert _dump(shape) == _dump(split)
    assert len(shape.series["loss"]) == 2000


def test_a_full_shape_memo_is_emptied_and_reads_the_same():
    rnd = random.Random(4)
    # every line other texts with digits too (a hash): the memo of texts is bounded as well
    lines = [f"pal{i % 7} id{rnd.getrandbits(32):08x} step {i} loss {'0' * (i % 37)}.{rnd.randint(0, 9)} x{'1' * (i % 41)}"
             for i in range(3000)]
    shape, split = TextParser(), SplitParser()
    shape.MAX_SHAPES = 50
    shape.SHAPE_NEW_MAX = 10 ** 6
    for j in range(0, 3000, 300):
        shape.feed(lines[j:j + 300], float(j), float(j + 300))
        split.feed(lines[j:j + 300], float(j), float(j + 300))
    assert len(shape._shapes) <= 50 and len(shape._by_texts) <= 50
    assert _dump(shape) == _dump(split)
