"""The rules of the text parser: number tokens, what a key looks like, what is never a metric
(code locations, config dumps, counts, versions), phases, and ``derive_plan`` (what each number of
a line template means).  Pure functions and constants; the incremental parser is ``parse``."""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- tokens

# The leading lookahead (the characters a number can start with) changes no match; it spares the
# two lookbehinds at every other position: NUM_RE.split is a third of a first parse, 35% faster so.
NUM_RE = re.compile(
    r"(?=[-+\d.nNiI])(?<![\w.@])(?<![^\W\d_]-)([-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|(?:nan|inf(?:inity)?)(?!\w)))",
    re.IGNORECASE,
)
ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_WORD = r"[^\W\d](?:[\w.\-/@]*\w)?"
KEY_TAIL_RE = re.compile(
    r"(?P<key>" + _WORD + r"(?: " + _WORD + r"){0,3})(?P<q>['\"]?)"
    r"(?P<sep>\s*[:=]?\s*[\[(]\s*|\s*[:=]\s*|\s+)['\"]?$"
)
_SPLIT_KEY = re.compile(r"[\s/.]+")
PARTS_RE = re.compile(r"[\s_\-./]+")
UNITS = {"%", "ms", "s", "sec", "secs", "us", "µs", "ns", "min", "mins", "h", "it", "its",
         "mb", "gb", "kb", "mib", "gib", "kib", "tb", "db", "x"}
STOPWORDS = {"info", "debug", "warning", "warn", "error", "critical", "the", "a", "an", "and",
             "with", "of", "at", "for", "is", "to", "in", "on", "after", "before", "done",
             "finished", "end", "start", "starting", "current", "new", "got", "log"}
DENY_PARTS = {"seed", "pid", "port", "version", "year", "month", "day", "hour", "minute",
              "worker", "workers", "gpus", "devices", "rank", "size", "bs",
              "params", "parameters", "dim", "dims", "layers", "layer", "heads",
              "hidden", "width", "height", "depth", "channels", "classes", "epochs", "steps",
              "iters", "iterations", "patience", "warmup", "eta", "date", "timestamp", "id",
              "line", "pages", "files", "shape", "uuid", "hash", "commit", "sha", "job", "jobid",
              "nparams", "numel", "lineno", "number", "elapsed", "updates", "episodes", "duration",
              "taken", "base", "correct", "found"}
# clocks that only grow (cumulative time since the start), not per-step timings
CLOCK_KEYS = {"total_time", "train_time", "wall_time", "walltime", "time_total", "elapsed_time", "total/duration"}
# a number followed by one of these words counts things or sizes ("74542 tokens", "8.2 GFlops", "97.5 MB")
COUNT_WORDS = {"tokens", "phrases", "samples", "images", "examples", "sentences", "words", "batches",
               "parameters", "params", "layers", "files", "classes", "items", "rounds", "mb", "gb", "kb",
               "tb", "mib", "gib", "kib", "bytes", "gflops", "mflops", "tflops", "flops", "gmacs", "macs"}
# GPU memory figures ("GPU Memory: 0.33 GB (Max: 14.24 GB)", "GPU_mem 3.2G") are not curves
GPU_MEM_RE = re.compile(r"gpu[\s_]*mem", re.IGNORECASE)
MEM_KEYS = {"memory", "mem", "max", "peak", "reserved", "allocated", "used", "free", "total", "gpu memory", "gpu mem"}
# announcements of a best value ("New best model saved with BLEU-2: 65.76", "Best test Top-1 Acc: 89.4")
BEST_RE = re.compile(r"\bnew best\b|\bbest model\b|\bsav(?:ed|ing)\b.*\bbest\b|\bbest\b.*\bsav(?:ed|ing)\b|^\W*best\b",
                     re.IGNORECASE)
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
GBM_KEYS = {"max_depth", "depth", "min_child_weight", "subsample", "colsample_bytree", "colsample_bylevel",
            "base_score", "num_leaves", "min_data_in_leaf", "feature_fraction", "bagging_fraction",
            "reg_alpha", "reg_lambda", "scale_pos_weight", "n_estimators"}  # a boosting trial's echo
X_STEP = {"step", "global_step", "globalstep", "iter", "iteration", "it"}
X_EPOCH = {"epoch", "ep"}
METRIC_WORD_RE = re.compile(
    r"loss|acc|ppl|perplex|err|bleu|rouge|psnr|ssim|iou|wer$|cer$|mse|mae|f1|auc|reward|"
    r"return|score|norm|entropy|top\d|prec|recall|dice|^lr$|_lr$|^lr_|^kl|^map$|^mem"
)
NUMBER_RE = re.compile(NUM_RE.pattern.replace("(?<![\\w.@])", ""), re.IGNORECASE)
# the phase a line reports (before its first metric): Train/Val/Test/Eval; val/test/eval lines'
# metrics are their own series (``val/loss``), train lines' are the plain names
PHASE_RE = re.compile(r"(?<![\w./])(train(?:ing)?|val(?:id(?:ation)?)?|eval(?:uation)?|test(?:ing)?|dev)(?![\w.])",
                      re.IGNORECASE)
PHASES = {"train": "", "training": "", "val": "val", "valid": "val", "validation": "val",
          "eval": "eval", "evaluation": "eval", "test": "test", "testing": "test", "dev": "dev"}
PHASE_WORDS = set(PHASES) | {"dev", "trn", "tst"}
INHERIT = "*"   # a summary line (" * Acc@1 76.1", "Averaged stats:") reports the last phase seen
SUMMARY_RE = re.compile(r"^\s*\*\s|Averaged stats|^\s*\*\s*$")
# LightGBM "valid_0's ndcg@1:" -> valid_0/ndcg@1
OWNER_KEY_RE = re.compile(r"(?P<owner>[\w.\-]+)'s (?P<name>[\w.\-/@]+)\s*:\s*$")
# Stable-Baselines ASCII tables: "| rollout/ |  |", "|    ep_rew_mean | 21.3 |"
TABLE_X = {"total_timesteps", "timesteps", "num_timesteps", "global_step", "step"}


STAT_WORDS = {"per", "mean", "avg", "average", "std", "rate", "ratio", "frac", "fraction", "median"}
PER_UNIT = {"episode", "epoch", "batch", "ep"}   # "episode_steps": steps per episode, a statistic


def denied(name: str) -> bool:
    """A name that counts or sizes things, or names a setting (``DENY_PARTS``), unless it is a rate
    or a statistic of it (``steps_per_second``, ``ep_len_mean``, ``rollout/episode_steps``)."""
    parts = [p for p in PARTS_RE.split(name.lower()) if p]
    hit = set(parts) & DENY_PARTS
    if not hit or set(parts) & STAT_WORDS:
        return False
    return any(p in hit and not (j and parts[j - 1] in PER_UNIT) for j, p in enumerate(parts))


def to_float(s: str) -> float:
    """Float of a number token, tolerant of a glued unit (``35.2ms``); ValueError if none."""
    try:
        return float(s)
    except ValueError:
        m = NUMBER_RE.match(s.strip().strip("'\""))
        if not m:
            raise
        return float(m.group(1))



# --------------------------------------------------------------------------- line templates

NO_PLAN = ()
CONFIG_PLAN = ("config",)  # a config dump or hyperparameter echo: no metric, but a run's banner


_HEXY = re.compile(r"[0-9a-f]*\d[0-9a-f]*\d[0-9a-f]*")


def _clean_key(key: str) -> str:
    words = key.split(" ")
    while len(words) > 1 and (words[0].lower() in STOPWORDS or (words[0].isupper() and len(words[0]) > 2)
                              or _HEXY.fullmatch(words[0])):  # a hash fragment: "3f2a9c1 loss"
        words.pop(0)
    return " ".join(words[-3:])


def _unit_ok(after: str) -> bool:
    """The text right after a number: empty/punctuation, or a known unit; not a count or a size
    (``74542 tokens``, ``8.2 GFlops``, ``97.5 MB``)."""
    if not after:
        return True
    c = after[0]
    if c == "." and len(after) > 1 and after[1].isdigit():
        return False  # version 1.2.3
    if c.isalpha() or c == "µ":
        m = re.match(r"[^\W\d_]+", after)
        return bool(m) and m.group(0).lower() in UNITS
    if c == " ":
        m = re.match(r" ([^\W\d_]+)\b(?!\s*/|\s+per\b)", after)  # "1234 samples/s" is a rate
        if m and m.group(1).lower() in COUNT_WORDS:
            return False
    return True


PHASE_HEADER = "phase"   # a plan kind: a line that only names the section the next lines report


def derive_plan(texts: list[str]):
    """Decide once what each number of a template means.

    Returns ``NO_PLAN``, ``CONFIG_PLAN`` (a config dump: params, no metric; it may open a new
    attempt, see ``TextParser``), ``(PHASE_HEADER, phase)`` (a line such as ``evaluate:dev`` that names the
    section of the lines after it) or a tuple ``(metrics, step_idx, epoch_idx, batch, phase)`` where
    metrics is a tuple of ``(name, idx, den_idx)`` (den_idx -1 unless the value is ``i/N``), step and
    epoch indexes are -1 when absent, batch is ``(i_idx, n_idx)`` or None and phase is None (no
    phase word), ``""`` (train), ``"val"``/``"test"``/``"eval"``/``"dev"`` or ``INHERIT`` (a summary line).
    """
    whole = "".join(texts)
    head = texts[0].lstrip()
    if (head.startswith(("File \"", "Traceback", "During handling", "raise ")) or "Warning:" in whole
            or "warnings.warn" in whole or re.match(r"\s*\w*(Error|Exception)\b", whole)):
        return NO_PLAN
    if CONFIG_RE.search(whole):
        return CONFIG_PLAN
    k = len(texts) - 1
    metrics: list[tuple[str, int, int]] = []
    config_keys = 0
    first_key = ""   # the first metric's key when it has its own ":"/"=" (a class label may precede it)
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
        if CODE_LOC_RE.search(before) or ("est" in before and BEST_RE.search(before)):
            continue  # a code location; a best value announced again ("New best model ... BLEU-2: 65.7")
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
        ks = m.start("key")
        if ks and before[ks - 1] in "'\"" and not m.group("q") and after[:1] == before[ks - 1]:
            continue  # 'Drop Input: 0.1' inside one quoted string: a config echo, not a metric
        key = _clean_key(m.group("key"))
        sep = m.group("sep").strip()
        if key.lower().endswith(" is"):  # "Val acc is 97.5%": "is" separates, like a space
            key, sep = key[:-3], ""
        last = _SPLIT_KEY.split(key.lower())[-1]
        lastu = key.lower().replace(" ", "_")
        is_x = last in X_STEP or last in X_EPOCH or lastu in X_STEP
        if sep[-1:] in ("[", "(") and not is_x:
            if pair:
                used.add(i + 1)
            if not (sep[:1] in ":=" and sep[-1:] == "[" and after.strip() == "]"):
                continue  # a list, a shape, an annotation; "lr: [0.0002]" (one value) is kept
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
        if lastu in GBM_KEYS:
            config_keys += 1
            continue
        if denied(key):
            if lastu in CONFIG_KEYS:
                config_keys += 1
            continue
        if lastu in CLOCK_KEYS or (m.group("q") and key.lower() in PHASE_WORDS):
            continue  # a clock since the start; a quoted phase name alone ({'train': 40058}) is a size
        if head is None:
            head = "".join(texts[:i]) + before[:m.start("key")]
            first_key = key if sep[:1] in (":", "=") else ""
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
        return CONFIG_PLAN  # a hyperparameter echo ({'lr': 0.1, 'batch_size': 32, 'seed': 1}): params
    if metrics and GPU_MEM_RE.search(whole):
        metrics = [mt for mt in metrics if mt[0].lower() not in MEM_KEYS and not GPU_MEM_RE.search(mt[0])]
    if not metrics and step < 0 and epoch < 0:
        hp = header_phase(texts[-1]) if k else None
        return (PHASE_HEADER, hp) if hp is not None else NO_PLAN
    phase = None
    if metrics:
        if SUMMARY_RE.search(whole):
            phase = INHERIT
        else:
            pm = PHASE_RE.search(head or "")
            lead = metrics[0][0].split(" ", 1)[0].lower() if " " in metrics[0][0] else ""
            if pm:
                phase = PHASES[pm.group(1).lower()]
            elif lead in PHASES:  # "test Loss: 2.45 Top-1 Acc: 48.1": the first key says the phase
                phase = PHASES[lead]
            label = LABEL_RE.search(head or "") if first_key else None
            lab = label.group(1) if label and not first_key.startswith(label.group(1)) else ""
            metrics = _named(metrics, phase, lab)
    return (tuple(metrics), step, epoch, batch, phase)


# an upper-case label before the first key: conlleval's per-class lines ("FOREST: precision: 80.0%")
LABEL_RE = re.compile(r"(?<![\w-])([A-Z][A-Z0-9_-]+):\s*$")
LOG_LEVELS = {"INFO", "DEBUG", "WARNING", "WARN", "ERROR", "CRITICAL", "TRACE", "NOTE"}


def _named(metrics: list[tuple[str, int, int]], phase: str | None, label: str) -> list[tuple[str, int, int]]:
    """Final names of a line's metrics: the line's phase; a name that repeats after a key naming
    its own phase belongs to that phase ("Train Loss: .. | Token Acc: .. | Val Loss: .. | Token
    Acc: ..": the second is val/Token Acc); a class label ("FOREST: precision: ..") namespaces
    the line; a name that still repeats is read once."""
    if label in LOG_LEVELS or (label and label.lower() in PHASE_WORDS):
        label = ""
    cur = None
    out: list[tuple[str, int, int]] = []
    raw: set[str] = set()
    seen: set[str] = set()
    for name, i, d in metrics:
        first = name.split(" ", 1)[0].lower()
        if " " in name and first in PHASES:
            cur = PHASES[first]
        p = cur if name in raw and cur is not None else phase
        raw.add(name)
        full = phased(p, name) if p else name
        if label:
            full = f"{label}/{full}" if not p else full.replace(f"{p}/", f"{p}/{label}/", 1)
        if full in seen:
            continue
        seen.add(full)
        out.append((full, i, d))
    return out


def header_phase(line: str) -> str | None:
    """The phase a number-free section header names (``evaluate:dev``, ``Validation:``,
    ``==> Testing``), else None.  Only short lines count (a few words after any log prefix)."""
    tail = re.split(r"\s-\s|\]\s|:\s", line.strip())[-1].strip()
    words = [w for w in re.split(r"[^A-Za-z]+", tail) if w]
    if not words or len(words) > 3:
        return None
    found = [PHASES[w.lower()] for w in words if w.lower() in PHASES]
    if not found or not any(w.lower() in SECTION_WORDS for w in words) and len(words) > 1:
        return None
    return found[-1]


SECTION_WORDS = {"evaluate", "evaluating", "evaluation", "eval", "validate", "validating", "validation",
                 "test", "testing", "dev", "val", "valid"}


def phased(phase: str, name: str) -> str:
    """``val/loss`` for a val-phase ``loss``; names that already say their phase stay."""
    if not phase or set(PARTS_RE.split(name.lower())) & PHASE_WORDS:
        return name
    return f"{phase}/{name}"
