"""Turning log text into metric points (no file I/O here; the readers are in ``sources``).

The default text parser is a *template* parser: every line is split by one compiled regex
into the text between numbers (the template) and the numbers.  What each number means
(a metric named by the text before it, the step, the epoch, a batch ``i/N``, or nothing) is
decided once per distinct template and cached, so a log of a million similar lines costs
one regex split, one join and a dict lookup per line.

Recognised shapes (each is covered by ``tests/test_metrics_parse.py``):
``key: value``, ``key=value``, ``key = value``, multi-word keys (``train loss 4.23``;
without ``:``/``=`` only for metric-like words: loss, acc, lr, ppl...), Python dict reprs
and JSON objects (quoted keys, numbers as strings too), Keras ``- loss: 0.45``, PyTorch
``Train Epoch: 1 [640/60000 (1%)]``, ``Epoch[10](53/54)``, ``Epoch [1][50/1000]``,
``iter 120:``, ``Epoch 1/5`` headers, tqdm postfixes, units glued to numbers (``35.2ms``,
``2.1%``), scientific notation, ``nan``/``inf``.  Not metrics: numbers with no key,
versions (``2.1.0``), dates/times, thousands (``11,689,512``), counts with ``K/M/B``
suffixes, keys naming sizes/counts/seeds/versions, and anything inside tracebacks or
warning lines.

x axis: ``step`` (step/global_step/iter/iteration keys), else ``epoch`` (epoch plus a batch
``i/N`` on the same line gives ``epoch + i/N``), else ``line`` (ordinal of metric lines).
The axis is fixed by the first line carrying step/epoch information; default-parsed metric
lines before it (hyperparameter echoes, config dumps) are dropped.  After 1000 metric lines
without any, the axis is ``line``.  Values are carried forward: a validation
line without a step gets the last step seen.
"""

from __future__ import annotations

import itertools
import math
import re
from operator import itemgetter
from typing import Any

from .patterns import Patterns
from .rules import (ANSI_RE, CLOCK_KEYS, CONFIG_PLAN, INHERIT, NO_PLAN, NUM_RE, NUMBER_RE, PHASE_HEADER, TABLE_X, denied,
                    derive_plan, header_phase, phased, to_float)
from .series import Sink

__all__ = ["TextParser", "split_lines", "derive_plan", "to_float", "ANSI_RE", "NUM_RE"]

RULE_CELL_RE = re.compile(r":?-{2,}:?$")               # "|-------|:---:|" under a header row
BLOCK_START_RE = re.compile(r"[A-Za-z_][\w.]*\($")   # "TrainingArguments(", "GPT(" alone on a line
# a number-free line that opens an attempt: "Starting training", "==== new run ====", "Resuming..."
BANNER_RE = re.compile(r"\b(?:start(?:ing|ed)?|begin(?:ning)?|launch(?:ing|ed)?|restart(?:ing|ed)?|"
                       r"resum(?:e|ing|ed)|new run|running training|train(?:ing)? (?:start|begin))\b|^\W*[=#*~-]{8,}",
                       re.IGNORECASE)


# NUM_RE's tokens, found faster where no character other than ASCII digits, signs, dots and
# n/N/i/I can start one (the text holds no other Unicode digit, no Turkish dotted/dotless i that
# ``(?i)`` folds into "inf"): the search skips every other character by a bitmap before it tries a
# match, where NUM_RE tries one at every position.  The look-behinds, moved after the first
# character, test the same characters; tests/test_metrics_parse_fast.py holds them equal.
_E = r"(?:[eE][-+]?\d+)?"
FAST_NUM_RE = re.compile(
    r"([-+.0-9nNiI](?<![\w.@].)(?<![^\W\d_]-.)"
    r"(?:(?<=\d)\d*\.?\d*" + _E + r"|(?<=\.)\d+" + _E +
    r"|(?<=[-+])(?:(?:\d+\.?\d*|\.\d+)" + _E + r"|(?i:nan|inf(?:inity)?)(?!\w))"
    r"|(?<=[nN])(?i:an)(?!\w)|(?<=[iI])(?i:nf(?:inity)?)(?!\w)))")
SLOW_CHARS_RE = re.compile("[^\x00-\x7f](?<=[\\d\u0130\u0131])")   # what only NUM_RE reads right


class TextParser(Sink):
    """Incremental parser of text logs; feed it complete lines with :meth:`feed`."""

    kind = "text"
    MAX_TEMPLATES = 20000
    PENDING_LIMIT = 1000   # metric lines without any step/epoch before settling on the line axis
    TB_MAX = 60
    BLOCK_MAX = 2000   # lines of one repr/argument dump at most (an unbalanced "(" ends it)
    MAX_SEGMENTS = 50  # earlier attempts of a restarted log kept (the oldest are dropped)
    SHAPES = True       # False: every batch is read by the split path (tests compare the two)
    MAX_SHAPES = 5000   # line shapes remembered (the memo is emptied when full)
    SHAPE_KEY_MAX = 4096  # longer lines are read by their shape but it is not remembered
    SHAPE_NEW_MAX = 64  # new shapes a batch may bring (or a quarter of its lines) before the split path reads it
    SHAPE_PAUSE = 8     # batches then read by the split path before shapes are tried again

    def __init__(self, patterns: Patterns | None = None):
        super().__init__()
        self.patterns = patterns or Patterns()
        for _, rx in self.patterns.items:  # names the user's patterns own (defaults skip them)
            self.user_names.update(g for g in rx.groupindex
                                   if g not in ("key", "value", "step", "iter", "iteration", "global_step", "epoch"))
        self._plans: dict[str, Any] = {}
        self._shapes: dict[bytes, list] = {}   # a line's shape -> its entry (see ``feed``)
        self._by_texts: dict[tuple, list] = {}   # (shape getter, texts) -> entry, for shapes whose texts hold digits
        self._digit_shapes = 0                 # shapes in _shapes whose texts hold an ASCII digit
        self._shape_skip = 0                   # batches the split path reads before shapes are tried again
        self.in_tb = False
        self.tb: list[str] = []
        self.last_traceback: str | None = None
        self.phase = ""                            # the last phase a metric line reported
        self.table: list[tuple[str, str]] | None = None  # an ASCII table block being read
        self.section = ""
        self.header_section: str | None = None     # the phase a section header line named ("evaluate:dev")
        self.block = 0                             # open parentheses of a multi-line repr/config dump
        self.block_lines = 0
        self.columns: list[str] | None = None      # the header row of a table with one row per epoch/step
        self.banner = False    # a config dump or start banner since the last step/epoch line
        self.segments: list[dict[str, Any]] = []   # earlier attempts of a restarted log, oldest first

    def state(self) -> dict:
        st = super().state()
        st.update(in_tb=self.in_tb, tb=self.tb, last_traceback=self.last_traceback, phase=self.phase,
                  header_section=self.header_section, block=self.block, block_lines=self.block_lines,
                  columns=self.columns, banner=self.banner)
        return st

    def set_state(self, st: dict) -> None:
        super().set_state(st)
        self.in_tb = st.get("in_tb", False)
        self.tb = list(st.get("tb", []))
        self.last_traceback = st.get("last_traceback")
        self.phase = st.get("phase", "")
        self.header_section = st.get("header_section")
        self.block = st.get("block", 0)
        self.block_lines = st.get("block_lines", 0)
        self.columns = st.get("columns")
        self.banner = st.get("banner", False)

    # the x value of a metric line, deciding the axis on the first line with step/epoch info
    def _x(self, has_step: bool, has_epoch: bool) -> float:
        axis = self.axis
        if axis is None:
            if has_step or has_epoch:
                self.axis = axis = "step" if has_step else "epoch"
                # metric lines before any step/epoch: hyperparameter echoes, config dumps
                self.series = {k: s for k, s in self.series.items() if k in self.user_names}
            elif self.line_no > self.PENDING_LIMIT:
                self.axis = axis = "line"
        if axis == "step":
            return self.last_step if self.last_step is not None else float(self.line_no)
        if axis == "epoch":
            return self.last_epoch if self.last_epoch is not None else float(self.line_no)
        return float(self.line_no)

    def feed(self, lines: list[str], w0: float, w1: float) -> bool:
        """Parse complete lines (no terminators); wall times are spread from w0 to w1.

        Each line's number tokens and template come from its *shape*: the line with every ASCII
        digit made ``0`` (one ``bytes.translate`` of the whole batch).  ``NUM_RE`` treats all ASCII
        digits alike, so lines of one shape have their tokens at the same offsets: the first line
        of a shape is split by the regex, the others are cut at those offsets by one
        ``itemgetter`` call (``_shapes``); where the texts of a shape hold digits (``pal1 loss:``
        and ``pal2 loss:``), each distinct texts has its own template.  A batch where most lines
        have a new shape (numbers of varying width) is split by one ``NUM_RE.split`` of the
        lines joined instead.  The per-line Python work is a shape lookup, what the template's
        plan says, and a ``float`` of each number the plan uses."""
        if not lines:
            return False
        if self.patterns.items:
            return self._feed_user(lines, w0, w1)
        nums: list[str] = []
        ents = self._shape_entries(lines) if self.SHAPES and self._shape_skip <= 0 else None
        if ents is None:
            ents, nums = self._split_entries(lines)
        n = len(lines)
        dw = (w1 - w0) / n
        changed = False
        get = self.get
        base = 0   # split path: the index in nums of the line's first number
        for li, ent in enumerate(ents):
            k = ent[0]
            b = base
            base += k
            if self.in_tb:
                self._tb_line(lines[li])
                continue
            line = lines[li]
            if len(line) > 1_000_000:
                continue
            if self.block or (line[-1:] == "(" and BLOCK_START_RE.match(line)):
                if self._block_line(line):
                    continue
            c0 = line[:1]
            if c0 == "|" or (self.table is not None and c0 in "-+="):
                changed |= self._table_line(line, w0 + dw * li)
                continue
            if self.columns is not None:
                self.columns = None  # a table with a header row ends at the first other line
            if not k:
                if line.startswith("Traceback"):
                    self.in_tb = True
                    self.tb = [line]
                elif len(line) < 80:
                    hp = header_phase(line)
                    if hp is not None:
                        self.header_section = hp
                    elif self.axis is not None and BANNER_RE.search(line):
                        self.banner = True
                continue
            plan = ent[2]
            if plan is None:
                plan = ent[2] = self._plan(ent[3])
            if plan is NO_PLAN:
                continue
            if plan is CONFIG_PLAN:
                self.banner = True
                continue
            if plan[0] == PHASE_HEADER:
                self.header_section = plan[1]
                continue
            metrics, si, ei, batch, phase = plan
            getter = ent[1]
            toks = getter(line) if getter is not None else nums[b:b + k]   # the line's number tokens
            if si >= 0 or ei >= 0:
                self.header_section = None  # a new step or epoch: the evaluation section is over
                if self.banner:
                    self.banner = False
                    self._restart(toks[si] if si >= 0 else None, toks[ei] if ei >= 0 else None)
            try:
                if si >= 0:
                    self.last_step = float(toks[si])
                if ei >= 0:
                    e = float(toks[ei])
                    if batch is not None:
                        bn = float(toks[batch[1]])
                        if bn > 0:
                            e += float(toks[batch[0]]) / bn
                        self.last_epoch = e
                    else:
                        le = self.last_epoch  # "Epoch: [3] Total time" after [3][k/N]: stays 3.x
                        if le is None or not (e <= le < e + 1):
                            self.last_epoch = e
                if not metrics:
                    if self.axis is None:
                        self._x(si >= 0, ei >= 0)
                    continue
                self.line_no += 1
                axis = self.axis
                if axis == "step" and self.last_step is not None:
                    x = self.last_step
                else:
                    x = self._x(si >= 0, ei >= 0)
                    axis = self.axis
                wall = w0 + dw * li
                if phase is not None:
                    if phase == INHERIT:
                        if self.phase:
                            metrics = [(phased(self.phase, n), i, d) for n, i, d in metrics]
                    else:
                        self.phase = phase
                elif self.header_section:  # the lines after "evaluate:dev" report the dev set
                    metrics = [(phased(self.header_section, n), i, d) for n, i, d in metrics]
                    self.phase = self.header_section
                else:
                    self.phase = ""
                same = axis == "step"  # one value per step: a later print of it wins
                ep = self.last_epoch
                user_names = self.user_names
                series = self.series
                if ep is not None and "epoch" not in user_names:  # the epoch axis of text logs
                    s = series.get("epoch")
                    if s is None:
                        s = get("epoch")
                    sx = s.x
                    if same and sx and sx[-1] == x:
                        s.y[-1] = ep
                        s.wall[-1] = wall
                    else:
                        sx.append(x)
                        s.y.append(ep)
                        s.wall.append(wall)
                for name, idx, den in metrics:
                    if name in user_names:
                        continue
                    v = float(toks[idx])
                    if den >= 0:
                        d = float(toks[den])
                        v = v / d if d else math.nan
                    # Series.put inlined (the hot loop: one call less per point)
                    s = series.get(name)
                    if s is None:
                        s = get(name)
                    sx = s.x
                    if same and sx and sx[-1] == x:
                        s.y[-1] = v
                        s.wall[-1] = wall
                    else:
                        sx.append(x)
                        s.y.append(v)
                        s.wall.append(wall)
                changed = True
            except (ValueError, OverflowError, ZeroDivisionError):
                continue
        return changed

    def _plan(self, key: str | list[str]):
        """The plan of a template: ``key`` is its texts joined by ``"\x00"`` (plans cached), or
        the texts themselves (a line holding ``"\x00"``: not cached)."""
        if not isinstance(key, str):
            return derive_plan(key)
        plans = self._plans
        plan = plans.get(key)
        if plan is None:
            if len(plans) >= self.MAX_TEMPLATES:
                plans.clear()
            plan = plans[key] = derive_plan(key.split("\x00"))
        return plan

    def _shape_entries(self, lines: list[str]) -> list[list] | None:
        """Per line its entry ``[k, getter, plan, template key]`` by the line's shape (see
        :meth:`feed`); None when too many lines have a new shape (the split path reads the batch,
        and the next ``SHAPE_PAUSE`` batches)."""
        text = "\n".join(lines)
        if text.count("\n") == len(lines) - 1:
            keys = text.encode("utf-8", "surrogatepass").translate(_ZEROS).split(b"\n")
        else:  # a line holds a "\n"
            keys = [ln.encode("utf-8", "surrogatepass").translate(_ZEROS) for ln in lines]
        del text
        shapes = self._shapes
        ents = list(map(shapes.get, keys))
        missed = [i for i, e in enumerate(ents) if e is None]
        digits = self._digit_shapes > 0   # before a full memo is emptied below
        budget = max(self.SHAPE_NEW_MAX, len(lines) // 4)
        for i in missed:
            key = keys[i]
            e = shapes.get(key)
            if e is None:
                budget -= 1
                if budget < 0:
                    self._shape_skip = self.SHAPE_PAUSE
                    return None
                e = _shape_entry(lines[i])
                if e[4] is not None:
                    digits = True
                    self._digit_shapes += 1
                if len(key) <= self.SHAPE_KEY_MAX:
                    if len(shapes) >= self.MAX_SHAPES:
                        shapes.clear()
                        self._digit_shapes = int(e[4] is not None)
                    shapes[key] = e
            ents[i] = e
        if digits:  # shapes whose texts hold digits ("pal1 loss:"): an entry per shape and texts
            by_texts = self._by_texts
            for i, e in enumerate(ents):
                texts_of = e[4]
                if texts_of is not None:
                    line = lines[i]
                    texts = texts_of(line)
                    key = (e[1], texts)   # e[1]: the shape's getter (kept alive by the key)
                    t = by_texts.get(key)
                    if t is None:
                        if len(by_texts) >= self.MAX_SHAPES:
                            by_texts.clear()
                        t = by_texts[key] = [e[0], e[1], None, _template_key(list(texts), line), None]
                    ents[i] = t
        return ents

    def _split_entries(self, lines: list[str]) -> tuple[list[list], list[str]]:
        """Per line its entry ``[k, None, plan, template key]``, and the number tokens of all
        lines in order: one ``NUM_RE.split`` of the lines joined, the templates of all lines
        from one join and one split of that."""
        if self._shape_skip > 0:
            self._shape_skip -= 1
        text, nl, sep = _joined(lines)
        rx = NUM_RE if not text.isascii() and SLOW_CHARS_RE.search(text) else FAST_NUM_RE
        parts = rx.split(text)
        templates = sep.join(parts[0::2]).split(nl)
        nums = parts[1::2]
        del parts, text
        batch: dict[str, list] = {}
        ents = []
        for t in templates:
            e = batch.get(t)
            if e is None:  # keys with another separator than "\x00": plans for this batch only
                e = batch[t] = [t.count(sep), None, None, t if sep == "\x00" else t.split(sep)]
            ents.append(e)
        return ents, nums

    def _block_line(self, line: str) -> bool:
        """A line of a multi-line repr or argument dump (``TrainingArguments(`` ... ``)``, a model
        repr ``GPT(`` ... ``)``: parameters, shapes); True when it is skipped."""
        self.banner = True
        self.block = max(0, self.block + line.count("(") - line.count(")"))
        self.block_lines = self.block_lines + 1 if self.block else 0
        if self.block_lines <= self.BLOCK_MAX:
            return True
        self.block = self.block_lines = 0  # unbalanced: stop skipping, read the line
        return False

    def _feed_user(self, lines: list[str], w0: float, w1: float) -> bool:
        """``feed`` with user patterns: each line goes to them (and to the default parser unless
        they switch it off)."""
        defaults = self.patterns.defaults
        dw = (w1 - w0) / len(lines)
        changed = False
        for li, line in enumerate(lines):
            if self.in_tb:
                self._tb_line(line)
                continue
            if len(line) > 1_000_000:
                continue
            if self.block or (line[-1:] == "(" and BLOCK_START_RE.match(line)):
                if self._block_line(line):
                    continue
            if defaults:
                changed |= self._default_line(line, li, w0, dw)
            changed |= self._user_line(line, w0 + dw * li)
        return changed

    def _restart(self, step: str | None, epoch: str | None) -> None:
        """After a config dump or start banner, a step (epoch) counter that went back is a new
        attempt: back to the segment's first x (or to 0/1) starts a new segment (the earlier one
        moves to ``segments``); back to a later x is a resume in the same log: the points at or
        after it are dropped (computed past the checkpoint it resumed from, as in stitching).
        ``step``/``epoch``: the line's counter tokens (None: not on the line)."""
        axis = self.axis
        try:
            if axis == "step" and step is not None:
                new, old = float(step), self.last_step
                if epoch is not None and self.last_epoch is not None and float(epoch) > self.last_epoch:
                    return  # a counter within the epoch, not a restart
            elif axis == "epoch" and epoch is not None:
                new, old = float(epoch), self.last_epoch
            else:
                return
        except ValueError:
            return
        if old is None or not new < old:
            return
        own = {k: s for k, s in self.series.items() if k not in self.user_names and len(s)}
        if not own:
            return
        first = min(s.x[0] for s in own.values())
        if new <= max(first, 1.0):
            self.segments.append(own)
            del self.segments[:-self.MAX_SEGMENTS]
            self.series = {k: s for k, s in self.series.items() if k in self.user_names}
            self.last_step = self.last_epoch = None
            self.phase = ""
            return
        for s in own.values():
            n = len(s)
            cut = n
            while cut and s.x[cut - 1] >= new:
                cut -= 1
            if cut < n:
                del s.x[cut:], s.y[cut:], s.wall[cut:]

    def _table_line(self, line: str, wall: float) -> bool:
        """Stable-Baselines-style ASCII tables: ``| section/ |  |`` then ``|  name | value |``
        rows until a ``----`` rule; the block's ``total_timesteps`` is its x."""
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line[:1] == "|" and self.table is None and self._column_row(cells, wall):
            return True
        if line[:1] != "|" or len(cells) != 2:  # a rule (or another table shape) ends a block
            rows, self.table = self.table, None
            return self._table_flush(rows or [], wall)
        name, val = cells
        if self.table is None:
            self.table, self.section = [], ""
        if not val:
            self.section = name if name.endswith("/") else (name + "/" if name else "")
            return False
        self.table.append((self.section + name, val))
        return False

    def _column_row(self, cells: list[str], wall: float) -> bool:
        """A table with a header row (``| Epoch | Train Loss | Val Acc |``), a ``|---|`` rule, then
        one row per epoch or step (markdown reports); True when the row was one of its points.
        Marks around a value (``**72.80%** ⭐``) do not change it."""
        cols = self.columns
        if cols is not None and len(cells) == len(cols):
            if all(RULE_CELL_RE.match(c) for c in cells):
                return False
            xs: dict[str, float] = {}
            vals = []
            for name, cell in zip(cols, cells):
                try:
                    v = to_float(cell.replace("*", "").replace(",", ""))
                except ValueError:
                    continue
                low = name.lower()
                if low in ("epoch", "step", "iter", "iteration", "global_step"):
                    xs[low] = v
                elif not denied(name):
                    vals.append((name, v))
            if not vals:
                return False
            ep = xs.get("epoch")
            st = next((xs[k] for k in ("step", "iter", "iteration", "global_step") if k in xs), None)
            if st is not None:
                self.last_step = st
            if ep is not None:
                self.last_epoch = ep
            self.line_no += 1
            x = self._x(st is not None, ep is not None)
            same = self.axis == "step"
            if ep is not None and "epoch" not in self.user_names:
                self.get("epoch").put(x, ep, wall, same)
            for name, v in vals:
                if name not in self.user_names:
                    self.get(name).put(x, v, wall, same)
            return True
        if len(cells) > 2 and all(cells) and not any(NUMBER_RE.match(c.replace("*", "")) for c in cells):
            if all(RULE_CELL_RE.match(c) for c in cells):
                return cols is not None
            self.columns = [c.replace("*", "").strip() for c in cells]  # a header row
            return True
        return False

    def _table_flush(self, rows: list[tuple[str, str]], wall: float) -> bool:
        vals = []
        step = None
        for name, val in rows:
            try:
                v = to_float(val)
            except ValueError:
                continue
            leaf = name.rsplit("/", 1)[-1].lower()
            if leaf in TABLE_X or name.lower() == "total/steps":  # baselines DDPG counts its x so
                step = v
                continue
            if denied(leaf) or leaf in CLOCK_KEYS:
                continue
            vals.append((name, v))
        if not vals:
            return False
        if step is not None:
            self.last_step = step
        self.line_no += 1
        x = self._x(step is not None, False)
        for name, v in vals:
            if name in self.user_names:
                continue
            s = self.get(name)
            s.x.append(x)
            s.y.append(v)
            s.wall.append(wall)
        return True

    def _default_line(self, line: str, li: int, w0: float, dw: float) -> bool:
        user = self.patterns
        self.patterns = Patterns()
        try:
            return self.feed([line], w0 + dw * li, w0 + dw * (li + 1))
        finally:
            self.patterns = user

    def _tb_line(self, line: str) -> None:
        tb = self.tb
        if len(tb) < self.TB_MAX:
            tb.append(line[:500])
        if not line or line[:1] in (" ", "\t") or line.startswith(
                ("Traceback", "During handling", "The above exception")):
            return
        self.in_tb = False
        self.last_traceback = "\n".join(tb)

    def _user_line(self, line: str, wall: float) -> bool:
        vals: list[tuple[str, str]] = []
        has_x = False
        for name, rx in self.patterns.items:
            for m in rx.finditer(line):
                gd = m.groupdict()
                if not gd:
                    vals.append((name, m.group(1)))
                    continue
                key, value = gd.get("key"), gd.get("value")
                if value is not None:
                    if key is not None:
                        vals.append((key, value))
                    elif name:
                        vals.append((name, value))
                for g, v in gd.items():
                    if g in ("key", "value") or v is None:
                        continue
                    try:
                        if g in ("step", "iter", "iteration", "global_step"):
                            self.last_step = to_float(v)
                            has_x = True
                            if self.axis in (None, "line"):
                                self.axis = "step"
                        elif g == "epoch":
                            self.last_epoch = to_float(v)
                            has_x = True
                            if self.axis is None:
                                self.axis = "epoch"
                        else:
                            vals.append((g, v))
                    except ValueError:
                        continue
        if not vals:
            return False
        self.line_no += 1
        x = self._x(has_x and self.last_step is not None, has_x and self.last_epoch is not None)
        changed = False
        if self.last_epoch is not None and not any(m == "epoch" for m, _ in vals):
            vals.append(("epoch", repr(self.last_epoch)))
        for metric, v in vals:
            try:
                y = to_float(v)
            except ValueError:
                continue
            s = self.get(metric)
            self.user_names.add(metric)
            s.x.append(x)
            s.y.append(y)
            s.wall.append(wall)
            changed = True
        return changed




_ZEROS = bytes.maketrans(b"123456789", b"000000000")   # a line's shape: its ASCII digits made 0
_NO_TOKEN = slice(0, 0)   # a last item of every getter: itemgetter of 2+ items returns a tuple


def _shape_entry(line: str) -> list:
    """The entry of a line's shape: ``[k, getter, None, template key, texts]``; ``getter(line)``
    (of any line of this shape) is the tuple of its k number tokens (and a last empty string).
    ``texts``: None, or where the template's texts hold an ASCII digit (``pal1 loss: 3.2``: lines
    of this shape may differ there) the getter of a line's texts."""
    rx = NUM_RE if not line.isascii() and SLOW_CHARS_RE.search(line) else FAST_NUM_RE
    parts = rx.split(line)
    texts = parts[0::2]
    k = len(parts) // 2
    getter = texts_of = None
    if k:
        spans = []
        gaps = []
        pos = 0
        for j in range(k):
            end = pos + len(parts[2 * j])
            gaps.append(slice(pos, end))
            pos = end + len(parts[2 * j + 1])
            spans.append(slice(end, pos))
        gaps.append(slice(pos, None))
        getter = itemgetter(*spans, _NO_TOKEN)
        if any(c in "0123456789" for g in gaps for c in line[g]):
            texts_of = itemgetter(*gaps)
    return [k, getter, None, _template_key(texts, line), texts_of]


def _template_key(texts: list[str], line: str) -> str | list[str]:
    return "\x00".join(texts) if "\x00" not in line else texts


# characters that may end each line of a joined batch or join a template's texts (a template key is
# its texts so joined): "\n" and "\x00" unless a line holds them, then other controls, then private use
_SEPARATORS = "\x00\x01\x02\x03\x04\x05\x06\x07\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1c\x1d\x1e\x1f"


def _joined(lines: list[str]) -> tuple[str, str, str]:
    """``(text, nl, sep)``: the lines joined by ``nl``, and ``sep`` for the templates; both
    characters occur in no line (``NUM_RE`` sees either as it sees the end of a line: no
    number spans one, no look-around is satisfied by one)."""
    text = "\n".join(lines)
    plain = text.count("\n") == len(lines) - 1   # no line holds a "\n"
    if plain and "\x00" not in text:
        return text, "\n", "\x00"
    free = (c for c in itertools.chain(_SEPARATORS, map(chr, range(0xE000, 0x110000))) if c not in text)
    if plain:
        return text, "\n", next(free)
    nl, sep = next(free), next(free)
    return nl.join(lines), nl, sep


def split_lines(data: bytes) -> list[str]:
    """Complete log lines of ``data`` as the text parser wants them: ANSI codes removed,
    ``\\r`` ending a line (tqdm redraws), terminators dropped."""
    text = data.decode("utf-8", "replace")
    if "\x1b" in text:
        text = ANSI_RE.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
