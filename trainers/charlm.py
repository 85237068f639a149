"""A character-level transformer language model (GPT-style, pre-LN, causal attention).

Trained on ``trainers/data/pydoc_corpus.txt.gz`` (docstrings of the Python standard library,
PSF licence; see trainers/data/README.md): the first 90% for training, the last 10% held out.
Logged: ``loss`` (train, current batch), ``lr`` (linear warmup then cosine decay), ``tokens_per_s``
and, every --eval-every steps, ``val_loss`` and ``val_bpc`` (bits per character) on fixed
held-out windows. A short sample of generated text is printed at the end.
"""
from __future__ import annotations

import gzip
import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import common

PROG = "python -m trainers.charlm"
CORPUS = Path(__file__).with_name("data") / "pydoc_corpus.txt.gz"

EPILOG = """\
behaviour:
  defaults: the loss falls from ln(96) = 4.56 to ~2.7 in 100 steps, sits on a plateau (the
  unigram/bigram stage) and starts falling again at step ~300: val_loss ~2.4 at step 500
  (~35 s on one CPU thread). Longer runs (--steps 5000, --d-model 256 --layers 4 on a GPU)
  go well below 1.5 nats/char.
  A bad setting: --lr 0.05 stalls at ~3.0 (val_bpc ~4.4, no better than character counts).

examples:
  python -m trainers.charlm --out runs/lm1
  python -m trainers.charlm --out runs/lm2 --d-model 256 --layers 4 --block 128 --steps 5000
  python -m trainers.charlm --resume runs/lm1 --steps 1000
"""


def load_corpus(path: Path = CORPUS) -> str:
    with gzip.open(path, "rt", encoding="ascii") as f:
        return f.read()


class Block(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.mlp(self.ln2(x)))


class CharTransformer(nn.Module):
    def __init__(self, vocab: int, block: int, d: int, layers: int, heads: int, dropout: float):
        super().__init__()
        self.block = block
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(block, d)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d, heads, dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.tok.weight  # weight tying
        self.apply(self._init)
        for n, p in self.named_parameters():
            if n.endswith("proj.weight") or n.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.drop(self.tok(idx) + self.pos(torch.arange(t, device=idx.device)))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))

    @torch.no_grad()
    def generate(self, idx, n: int, generator: torch.Generator, temperature: float = 0.8):
        for _ in range(n):
            logits = self(idx[:, -self.block:])[:, -1, :] / temperature
            probs = F.softmax(logits.float().cpu(), dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator).to(idx.device)
            idx = torch.cat([idx, nxt], 1)
        return idx


def build_parser():
    p = common.make_parser(PROG, __doc__.split("\n\n")[0], steps=500, batch_size=16,
                           log_every=10, eval_every=50, ckpt_every=250, epilog=EPILOG)
    g = p.add_argument_group("charlm")
    g.add_argument("--lr", type=common.positive_float, default=3e-3, help="peak AdamW lr (default %(default)s)")
    g.add_argument("--warmup", type=common.nonneg_int, default=50, help="linear warmup steps (default %(default)s)")
    g.add_argument("--min-lr-ratio", type=common.unit_float, default=0.1,
                   help="cosine decays to lr * this at --steps (default %(default)s)")
    g.add_argument("--weight-decay", type=common.nonneg_float, default=0.1, help="AdamW weight decay (default %(default)s)")
    g.add_argument("--grad-clip", type=common.nonneg_float, default=1.0, help="max grad norm, 0 = off (default %(default)s)")
    g.add_argument("--block", type=common.positive_int, default=64, help="context length in characters (default %(default)s)")
    g.add_argument("--d-model", type=common.positive_int, default=128, help="embedding width (default %(default)s)")
    g.add_argument("--layers", type=common.positive_int, default=2, help="transformer blocks (default %(default)s)")
    g.add_argument("--heads", type=common.positive_int, default=4, help="attention heads (default %(default)s)")
    g.add_argument("--dropout", type=common.unit_float, default=0.1, help="dropout (default %(default)s)")
    g.add_argument("--val-batches", type=common.positive_int, default=8,
                   help="held-out batches per evaluation (default %(default)s)")
    g.add_argument("--sample-chars", type=common.nonneg_int, default=200,
                   help="characters of generated text printed at the end, 0 = none (default %(default)s)")
    return p


def run(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.d_model % args.heads:
        parser.error(f"--d-model {args.d_model} must be divisible by --heads {args.heads}")
    r = common.Run(args, "charlm")
    dev = r.device

    text = load_corpus()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n_train = int(0.9 * len(data))
    train, val = data[:n_train], data[n_train:]

    model = CharTransformer(len(chars), args.block, args.d_model, args.layers, args.heads,
                            args.dropout).to(dev)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, [common.warmup_cosine(args.warmup, args.steps, args.min_lr_ratio)] * 2)
    data_gen = torch.Generator().manual_seed(args.seed + 17)  # the data position
    n_params = sum(p.numel() for p in model.parameters())
    r.header({"params": n_params, "vocab": len(chars), "train_chars": len(train), "val_chars": len(val)})

    step = 0
    st = r.resume_state()
    if st is not None:
        if st["vocab"] != chars:
            raise common.UsageError("checkpoint vocabulary differs from the shipped corpus")
        common.load_module(model, st["model"], "model")
        common.load_module(opt, st["opt"], "optimizer")
        common.load_module(sched, st["sched"], "scheduler")
        common.set_base_lrs(opt, sched, [args.lr, args.lr])
        data_gen.set_state(st["data_gen"])
        step = int(st["step"])
        r.print(f"resumed at step {step}")

    def make_state():
        return {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                "data_gen": data_gen.get_state(), "vocab": chars}

    def batch():
        ix = torch.randint(len(train) - args.block - 1, (args.batch_size,), generator=data_gen)
        x = torch.stack([train[i:i + args.block] for i in ix])
        y = torch.stack([train[i + 1:i + 1 + args.block] for i in ix])
        return x.to(dev), y.to(dev)

    n_val = args.val_batches * args.batch_size
    val_ix = torch.linspace(0, len(val) - args.block - 2, n_val).long()

    @torch.no_grad()
    def evaluate() -> dict:
        model.eval()
        total = 0.0
        for i in range(0, n_val, args.batch_size):
            ix = val_ix[i:i + args.batch_size]
            x = torch.stack([val[j:j + args.block] for j in ix]).to(dev)
            y = torch.stack([val[j + 1:j + 1 + args.block] for j in ix]).to(dev)
            total += F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item() * len(ix)
        model.train()
        vl = total / n_val
        return {"val_loss": vl, "val_bpc": vl / math.log(2)}

    tokens_per_step = args.batch_size * args.block
    last = None
    while step < args.steps:
        with r.step_timer():
            x, y = batch()
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(),
                                                   args.grad_clip if args.grad_clip > 0 else float("inf"))
            lr = opt.param_groups[0]["lr"]
            opt.step()
            sched.step()
        step += 1
        last = {"loss": loss.item(), "lr": lr, "grad_norm": gnorm.item()}
        epoch = step * tokens_per_step / len(train)
        if step % args.log_every == 0 or step == args.steps:
            vals = dict(last)
            if args.eval_every and (step % args.eval_every == 0 or step == args.steps):
                vals.update(evaluate())
            vals["tokens_per_s"] = r.throughput() * tokens_per_step
            r.log(step, vals, epoch=epoch)
        r.maybe_save(step, make_state)
        if r.stop_requested(step):
            break
    code = r.finish(step, make_state, last, epoch=step * tokens_per_step / len(train))
    if args.sample_chars and not code:
        model.eval()
        g = torch.Generator().manual_seed(0)
        start = torch.tensor([[stoi["#"], stoi[" "]]], device=dev)
        out = model.generate(start, args.sample_chars, g)[0].tolist()
        r.print("sample:\n" + "".join(chars[i] for i in out))
    return code


def main():
    common.main_wrapper(run, PROG)


if __name__ == "__main__":
    main()
