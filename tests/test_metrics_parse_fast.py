"""The text parser's batch fast path (issue 12, first-parse throughput): ``FAST_NUM_RE`` finds the
same number tokens as ``NUM_RE`` wherever the parser uses it, and a batch fed at once gives the
same series as the same lines fed one by one (the per-line templates and number offsets of a
batch are right, also with separator characters inside the lines)."""

from __future__ import annotations

import random

from tests.corpus_truth import CORPUS
from tui.core.metrics.parse import FAST_NUM_RE, NUM_RE, SLOW_CHARS_RE, TextParser, split_lines

TRICKY = [
    "loss=1.5e-3 acc 97.5% lr:2e-5 step 10", "abc-5 x-3 a -3 (-2) [+4] .5 5. 1.e5 v1.2.3 a@3 x.5",
    "nan NaN -nan +inf inf infinity -Infinity infx xinf nanx 3nan info INFO Inf.", "1e 1e+ 1e+5e3 0x1F 1_000",
    "[3/100][120/500] Epoch[10](53/54) 2023-01-01 12:00:00,123", "\u635f\u59313.5 \u635f\u5931: 3.5 x\u00b23",
    "-", "+", ".", "-.5", "+-5", "--5", "a--5", "5-3", "a-b-3", "\t-7\t", "é-5 é5 é 5",
]


def _lines():
    out = list(TRICKY)
    for p in sorted(CORPUS.iterdir()):
        if not p.name.endswith(".json"):
            out += split_lines(p.read_bytes())[:400]
    return out


def test_fast_number_regex_splits_like_num_re():
    lines = _lines()
    rnd = random.Random(7)
    pieces = [w for ln in lines for w in ln.split(" ")][:20000]
    lines += [" ".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12))) for _ in range(3000)]
    fast = [ln for ln in lines if not SLOW_CHARS_RE.search(ln)]
    assert len(fast) > 3000
    for ln in fast:
        assert FAST_NUM_RE.split(ln) == NUM_RE.split(ln), ln
    text = "\n".join(fast)
    assert FAST_NUM_RE.split(text) == NUM_RE.split(text)   # a batch: line ends are line ends
    assert SLOW_CHARS_RE.search("acc \u0663.5") and SLOW_CHARS_RE.search("\u0131nf")
    assert not SLOW_CHARS_RE.search("\u635f\u5931 3.5 \u2588\u258c")


def _dump(p: TextParser):
    return ({k: (list(s.x), list(s.y), list(s.wall)) for k, s in p.series.items()},
            [{k: (list(s.x), list(s.y)) for k, s in seg.items()} for seg in p.segments],
            repr(p.state()))


def test_a_batch_parses_like_its_lines_one_by_one():
    rnd = random.Random(3)
    lines = _lines()
    for trial in range(30):
        pick = [rnd.choice(lines) for _ in range(rnd.randint(50, 400))]
        for _ in range(3):   # separators and odd characters inside lines
            i = rnd.randrange(len(pick))
            pick[i] = pick[i][:9] + rnd.choice(["\x00", "\x01", "\n", "\u0663", "\u0131nf", "x\x00 3"]) + pick[i][9:]
        one, batch = TextParser(), TextParser()
        for i, ln in enumerate(pick):
            one.feed([ln], float(i), float(i + 1))
        batch.feed(pick, 0.0, float(len(pick)))
        assert repr(_dump(one)) == repr(_dump(batch)), trial
