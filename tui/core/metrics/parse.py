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

import math
import re
from typing import Any

from .patterns import Patterns
from .series import Sink

# --------------------------------------------------------------------------- tokens

NUM_RE = re.compile(
    r"(?<![\w.@])([-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|(?:nan|inf(?:inity)?)(?!\w)))",
    re.IGNORECASE,
)
ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_WORD = r"[^\W\d](?:[\w.\-/@]*\w)?"
KEY_TAIL_RE = re.compile(
    r"(?P<key>" + _WORD + r"(?: " + _WORD + r"){0,3})(?P<q>['\"]?)"
    r"(?P<sep>\s*[:=]?\s*[\[(]\s*|\s*[:=]\s*|\s+)['\"]?$"
)
_SPLIT_KEY = re.compile(r"[\s/.]+")
_PARTS = re.compile(r"[\s_\-./]+")
UNITS = {"%", "ms", "s", "sec", "secs", "us", "µs", "ns", "min", "mins", "h", "it", "its",
         "mb", "gb", "kb", "mib", "gib", "kib", "tb", "db", "x"}
STOPWORDS = {"info", "debug", "warning", "warn", "error", "critical", "the", "a", "an", "and",
             "with", "of", "at", "for", "is", "to", "in", "on", "after", "before", "done",
             "finished", "end", "start", "starting", "current", "new", "got", "log"}
DENY_PARTS = {"seed", "pid", "port", "version", "year", "month", "day", "hour", "minute",
              "worker", "workers", "gpus", "devices", "rank", "size", "bs",
              "params", "parameters", "param", "dim", "dims", "layers", "layer", "heads",
              "hidden", "width", "height", "depth", "channels", "classes", "epochs", "steps",
              "iters", "iterations", "patience", "warmup", "eta", "date", "timestamp", "id",
              "line", "pages", "files", "shape", "uuid", "hash", "commit", "sha", "job", "jobid",
              "nparams", "numel", "lineno", "number", "elapsed", "updates", "episodes"}
# a code location before a number: "[main.py:109]", "train.py:88 -", "solver.cpp:218]"
CODE_LOC_RE = re.compile(r"\.(?:py|pyx|ipynb|cpp|cc|cxx|c|h|hpp|cu|cuh|js|ts|go|rs|java|scala|lua|jl|rb|sh)"
                         r"\s*[:(#]\s*(?:line\s*)?$", re.IGNORECASE)
# config dumps: "Namespace(lr=0.001, ...)", "Config: {...}", "args: lr=0.1 ..." are params, not metrics
CONFIG_RE = re.compile(r"(?:^|[\s\]|:-])(?:Namespace|Config|ConfigDict|DictConfig|EasyDict|[Hh]yper[Pp]arams|"
                       r"[Hh]yperparameters|[Pp]arams|[Hh]params|[Aa]rgs|[Aa]rguments|[Oo]ptions|[Cc]onfig(?:uration)?)"
                       r"\s*(?:\(|[:=]\s*[{(\[])"
                       r"|^\s*(?:[Cc]onfig(?:uration)?|[Aa]rgs|[Aa]rguments|[Hh]params|[Hh]yper-?[Pp]arameters|"
                       r"[Oo]ptions)\s*:")
CONFIG_KEYS = {"batch_size", "seed", "num_workers", "workers", "epochs", "num_epochs", "max_epochs",
               "weight_decay", "momentum", "warmup", "warmup_steps", "dropout", "output_dir", "max_steps",
               "gradient_accumulation_steps", "hidden_size", "num_layers", "image_size", "img_size"}
X_STEP = {"step", "global_step", "globalstep", "iter", "iteration", "it"}
X_EPOCH = {"epoch", "ep"}
METRIC_WORD_RE = re.compile(
    r"loss|acc|ppl|perplex|err|bleu|rouge|psnr|ssim|iou|wer$|cer$|mse|mae|f1|auc|reward|"
    r"return|score|norm|entropy|top\d|prec|recall|dice|^lr$|_lr$|^lr_|^kl|^map$|^mem"
)
NUMBER_RE = re.compile(NUM_RE.pattern.replace("(?<![\\w.@])", ""), re.IGNORECASE)
# the phase a line reports (before its first metric): Train/Val/Test/Eval; val/test/eval lines'
# metrics are their own series (``val/loss``), train lines' are the plain names
PHASE_RE = re.compile(r"(?<![\w./])(train(?:ing)?|val(?:id(?:ation)?)?|eval(?:uation)?|test(?:ing)?)(?![\w.])",
                      re.IGNORECASE)
PHASES = {"train": "", "training": "", "val": "val", "valid": "val", "validation": "val",
          "eval": "eval", "evaluation": "eval", "test": "test", "testing": "test"}
PHASE_WORDS = set(PHASES) | {"dev", "trn", "tst"}
INHERIT = "*"   # a summary line (" * Acc@1 76.1", "Averaged stats:") reports the last phase seen
SUMMARY_RE = re.compile(r"^\s*\*\s|Averaged stats|^\s*\*\s*$")
# LightGBM "valid_0's ndcg@1:" -> valid_0/ndcg@1
OWNER_KEY_RE = re.compile(r"(?P<owner>[\w.\-]+)'s (?P<name>[\w.\-/@]+)\s*:\s*$")
# Stable-Baselines ASCII tables: "| rollout/ |  |", "|    ep_rew_mean | 21.3 |"
TABLE_X = {"total_timesteps", "timesteps", "num_timesteps", "global_step", "step"}


def to_float(s: str) -> float:
    """Float of a number token, tolerant of a glued unit (``35.2ms``); ValueError if none."""
    try:
        return float(s)
    except ValueError:
        m = NUMBER_RE.match(s.strip().strip("'\""))
        if not m:
            raise
        return float(m.group(1))



# --------------------------------------------------------------------------- text parser

_EMPTY = ()


_HEXY = re.compile(r"[0-9a-f]*\d[0-9a-f]*\d[0-9a-f]*")


def _clean_key(key: str) -> str:
    words = key.split(" ")
    while len(words) > 1 and (words[0].lower() in STOPWORDS or (words[0].isupper() and len(words[0]) > 2)
                              or _HEXY.fullmatch(words[0])):  # a hash fragment: "3f2a9c1 loss"
        words.pop(0)
    return " ".join(words[-3:])


def _unit_ok(after: str) -> bool:
    """The text right after a number: empty/punctuation, or a known unit."""
    if not after:
        return True
    c = after[0]
    if c == "." and len(after) > 1 and after[1].isdigit():
        return False  # version 1.2.3
    if c.isalpha() or c == "µ":
        m = re.match(r"[^\W\d_]+", after)
        return bool(m) and m.group(0).lower() in UNITS
    return True


def derive_plan(texts: list[str]):
    """Decide once what each number of a template means.

    Returns ``_EMPTY`` or a tuple ``(metrics, step_idx, epoch_idx, batch, phase)`` where metrics is
    a tuple of ``(name, idx, den_idx)`` (den_idx -1 unless the value is ``i/N``), step and
    epoch indexes are -1 when absent, batch is ``(i_idx, n_idx)`` or None and phase is None (no
    phase word), ``""`` (train), ``"val"``/``"test"``/``"eval"`` or ``INHERIT`` (a summary line).
    """
    whole = "".join(texts)
    head = texts[0].lstrip()
    if (head.startswith(("File \"", "Traceback", "During handling", "raise ")) or "Warning:" in whole
            or "warnings.warn" in whole or re.match(r"\s*\w*(Error|Exception)\b", whole)):
        return _EMPTY
    if CONFIG_RE.search(whole):
        return _EMPTY
    k = len(texts) - 1
    metrics: list[tuple[str, int, int]] = []
    config_keys = 0
    head = None   # the text before the first metric's key (where a phase word is looked for)
    step = epoch = -1
    step_den = -1
    batch = None
    used = set()
    for i in range(k):
        if i in used:
            continue
        before, after = texts[i], texts[i + 1]
        if i and before[:1].isalpha():  # a unit glued to the previous number: "35.2ms gpu: 3"
            before = before.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZµ%/")
        pair = after == "/" and i + 1 < k
        if after in (",", ":", "-", ".", "e", "E") and i + 1 < k:
            used.add(i + 1)
            continue  # 11,689,512 / 12:00:01 / 2024-01-01
        if not pair and not _unit_ok(after):
            continue
        if CODE_LOC_RE.search(before):
            continue
        om = OWNER_KEY_RE.search(before) if "'s " in before else None
        if om:
            if pair:
                used.add(i + 1)
            if head is None:
                head = "".join(texts[:i]) + before[:om.start()]
            metrics.append((f"{om.group('owner')}/{om.group('name')}", i, i + 1 if pair else -1))
            continue
        m = KEY_TAIL_RE.search(before) if before else None
        if not m:
            if pair and epoch >= 0 and batch is None:
                batch = (i, i + 1)
            if pair:
                used.add(i + 1)
            continue
        key = _clean_key(m.group("key"))
        sep = m.group("sep").strip()
        last = _SPLIT_KEY.split(key.lower())[-1]
        lastu = key.lower().replace(" ", "_")
        is_x = last in X_STEP or last in X_EPOCH or lastu in X_STEP
        if sep[-1:] in ("[", "(") and not is_x:
            if pair:
                used.add(i + 1)
            continue
        if not sep and not is_x and not METRIC_WORD_RE.search(last):
            if pair:
                used.add(i + 1)
            continue
        if pair:
            used.add(i + 1)
        if is_x:
            if last in X_EPOCH:
                if epoch < 0:
                    epoch = i
            elif step < 0:
                step = i
                step_den = i + 1 if pair else -1
            continue
        parts = set(_PARTS.split(key.lower()))
        if parts & DENY_PARTS:
            if lastu in CONFIG_KEYS:
                config_keys += 1
            continue
        if any(name == key for name, _, _ in metrics):
            continue
        if head is None:
            head = "".join(texts[:i]) + before[:m.start("key")]
        metrics.append((key, i, i + 1 if pair else -1))
    if epoch >= 0 and step >= 0 and step_den >= 0 and batch is None:
        batch = (step, step_den)  # "Epoch 3 iter 50/1000": iter counts within the epoch
        step = -1
    if batch is not None and epoch < 0:
        batch = None
    if (metrics and step < 0 and epoch < 0 and k >= 1 and texts[0].strip() == "[" and texts[1][:1] == "]"
            and metrics[0][1] != 0):
        step = 0  # LightGBM/XGBoost "[10]\tvalid-auc:0.9": the iteration
    if config_keys and step < 0 and epoch < 0:
        return _EMPTY  # a hyperparameter echo ({'lr': 0.1, 'batch_size': 32, 'seed': 1}): params
    if not metrics and step < 0 and epoch < 0:
        return _EMPTY
    phase = None
    if metrics:
        if SUMMARY_RE.search(whole):
            phase = INHERIT
        else:
            pm = PHASE_RE.search(head or "")
            if pm:
                phase = PHASES[pm.group(1).lower()]
                metrics = [(_phased(phase, name), i, d) for name, i, d in metrics]
    return (tuple(metrics), step, epoch, batch, phase)


def _phased(phase: str, name: str) -> str:
    """``val/loss`` for a val-phase ``loss``; names that already say their phase stay."""
    if not phase or set(_PARTS.split(name.lower())) & PHASE_WORDS:
        return name
    return f"{phase}/{name}"


class TextParser(Sink):
    """Incremental parser of text logs; feed it complete lines with :meth:`feed`."""

    kind = "text"
    MAX_TEMPLATES = 20000
    PENDING_LIMIT = 1000   # metric lines without any step/epoch before settling on the line axis
    TB_MAX = 60

    def __init__(self, patterns: Patterns | None = None):
        super().__init__()
        self.patterns = patterns or Patterns()
        for _, rx in self.patterns.items:  # names the user's patterns own (defaults skip them)
            self.user_names.update(g for g in rx.groupindex
                                   if g not in ("key", "value", "step", "iter", "iteration", "global_step", "epoch"))
        self._plans: dict[str, Any] = {}
        self.in_tb = False
        self.tb: list[str] = []
        self.last_traceback: str | None = None
        self.phase = ""                            # the last phase a metric line reported
        self.table: list[tuple[str, str]] | None = None  # an ASCII table block being read
        self.section = ""

    def state(self) -> dict:
        st = super().state()
        st.update(in_tb=self.in_tb, tb=self.tb, last_traceback=self.last_traceback, phase=self.phase)
        return st

    def set_state(self, st: dict) -> None:
        super().set_state(st)
        self.in_tb = st.get("in_tb", False)
        self.tb = list(st.get("tb", []))
        self.last_traceback = st.get("last_traceback")
        self.phase = st.get("phase", "")

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
        """Parse complete lines (no terminators); wall times are spread from w0 to w1."""
        split = NUM_RE.split
        plans = self._plans
        user = self.patterns.items
        defaults = self.patterns.defaults
        n = len(lines) or 1
        dw = (w1 - w0) / n
        changed = False
        get = self.get
        for li, line in enumerate(lines):
            if self.in_tb:
                self._tb_line(line)
                continue
            if len(line) > 1_000_000:
                continue
            if user:
                if defaults:
                    changed |= self._default_line(line, li, w0, dw)
                changed |= self._user_line(line, w0 + dw * li)
                continue
            c0 = line[:1]
            if c0 == "|" or (self.table is not None and c0 in "-+="):
                changed |= self._table_line(line, w0 + dw * li)
                continue
            parts = split(line)
            if len(parts) == 1:
                if line.startswith("Traceback"):
                    self.in_tb = True
                    self.tb = [line]
                continue
            texts = parts[0::2]
            tkey = "\x00".join(texts)
            plan = plans.get(tkey)
            if plan is None:
                if len(plans) >= self.MAX_TEMPLATES:
                    plans.clear()
                plan = plans[tkey] = derive_plan(texts)
            if plan is _EMPTY:
                continue
            metrics, si, ei, batch, phase = plan
            try:
                if si >= 0:
                    self.last_step = float(parts[2 * si + 1])
                if ei >= 0:
                    e = float(parts[2 * ei + 1])
                    if batch is not None:
                        bn = float(parts[2 * batch[1] + 1])
                        if bn > 0:
                            e += float(parts[2 * batch[0] + 1]) / bn
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
                x = self._x(si >= 0, ei >= 0)
                wall = w0 + dw * li
                if phase is not None:
                    if phase == INHERIT:
                        if self.phase:
                            metrics = [(_phased(self.phase, n), i, d) for n, i, d in metrics]
                    else:
                        self.phase = phase
                else:
                    self.phase = ""
                same = self.axis == "step"  # one value per step: a later print of it wins
                ep = self.last_epoch
                if ep is not None and "epoch" not in self.user_names:  # the epoch axis of text logs
                    s = get("epoch")
                    n = len(s.x)
                    if same and n and s.x[n - 1] == x:
                        s.y[n - 1] = ep
                    else:
                        s.x.append(x)
                        s.y.append(ep)
                        s.wall.append(wall)
                for name, idx, den in metrics:
                    if name in self.user_names:
                        continue
                    v = float(parts[2 * idx + 1])
                    if den >= 0:
                        d = float(parts[2 * den + 1])
                        v = v / d if d else math.nan
                    s = get(name)
                    n = len(s.x)
                    if same and n and s.x[n - 1] == x:
                        s.y[n - 1] = v
                        s.wall[n - 1] = wall
                    else:
                        s.x.append(x)
                        s.y.append(v)
                        s.wall.append(wall)
                changed = True
            except (ValueError, OverflowError, ZeroDivisionError):
                continue
        return changed

    def _table_line(self, line: str, wall: float) -> bool:
        """Stable-Baselines-style ASCII tables: ``| section/ |  |`` then ``|  name | value |``
        rows until a ``----`` rule; the block's ``total_timesteps`` is its x."""
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
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

    def _table_flush(self, rows: list[tuple[str, str]], wall: float) -> bool:
        vals = []
        step = None
        for name, val in rows:
            try:
                v = to_float(val)
            except ValueError:
                continue
            leaf = name.rsplit("/", 1)[-1].lower()
            if leaf in TABLE_X:
                step = v
                continue
            if set(_PARTS.split(leaf)) & DENY_PARTS:
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
