"""Character-level transformer on the Python standard library's own source: O2NC against tuned optimizers.

The text every Python installation carries: the source files of its standard library (``sysconfig``'s ``stdlib``
path), split by file into a training set (``TRAIN_FILES``), a tuning set (``TUNE_FILES``, used only to choose learning
rates) and a validation set (``VAL_FILES``, only reported). Characters are tab, newline and printable ASCII; any other
character is one "unknown" symbol. The files and their content depend on the Python version, so the JSON output
records the version and a SHA-256 of each split.

Model (:class:`CharTransformer`): a decoder-only transformer — token and learned position embeddings, pre-LayerNorm
blocks of causal multi-head self-attention and a ReLU MLP (a non-smooth network), a final LayerNorm and a linear
read-out; cross-entropy in nats per character.

Methods, all at the same gradient budget (``steps`` mini-batches of ``batch`` windows, one gradient per step):

- ``o2nc-free``: O2NC with the parameter-free learner of ``examples/digits.py`` (``parameter_free``: KT magnitude
  with scale-free coins times restarted AdaGrad-norm direction), lr = 1, nothing tuned;
- ``o2nc-ogd``: O2NC with restarted OGD, ``o2nc-dftrl``: O2NC with DiscountedFTRL (Cutkosky, Mehta, Orabona,
  ICML 2023, Algorithm 1 and §3 restarts; EMA output point as in ``examples/digits.py``);
- ``adamw`` and ``sgd-momentum`` (torch.optim, cosine decay to 0 over the budget), ``schedule-free-adamw``
  (the ``schedulefree`` package, Defazio et al., NeurIPS 2024; evaluated at its averaged point) and ``mechanic``
  (``mechanic-pytorch``'s tuner over AdamW, Cutkosky, Defazio, Mehta, NeurIPS 2023).

Every method but ``o2nc-free`` is tuned on the same grid of learning-rate multipliers around its default
(``Config.grid``), seed 0, by the tuning-set loss; the chosen lr then runs on every seed and the validation loss is
reported.

Usage: python examples/char_lm.py [--quick] [--json PATH] [--seeds N] [--steps N] [--no-certify]
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import math
import pathlib
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

# A fixed list, present in CPython 3.10-3.13 as single modules; the split is by file, so no window straddles splits.
TRAIN_FILES = ("argparse.py", "ast.py", "calendar.py", "configparser.py", "csv.py", "dataclasses.py", "difflib.py",
               "enum.py", "fractions.py", "functools.py", "gettext.py", "heapq.py", "inspect.py", "ipaddress.py",
               "pprint.py", "shutil.py", "subprocess.py", "tarfile.py", "textwrap.py", "threading.py")
TUNE_FILES = ("bisect.py", "statistics.py", "random.py")
VAL_FILES = ("contextlib.py", "shlex.py", "queue.py", "tokenize.py")
SPLITS = {"train": TRAIN_FILES, "tune": TUNE_FILES, "val": VAL_FILES}

ALPHABET = "\t\n" + "".join(chr(c) for c in range(32, 127))
UNKNOWN = len(ALPHABET)  # the id of every other character
VOCAB = len(ALPHABET) + 1


@dataclass(frozen=True)
class Config:
    """Sizes of one comparison (model, budget, grid, seeds, certificates)."""

    context: int = 64
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    batch: int = 16
    steps: int = 600
    eval_every: int = 50  # steps between two points of the learning curve
    curve_chars: int = 16_384  # validation characters per curve point
    tune_chars: int = 32_768  # tuning characters for the lr choice
    val_chars: int = 65_536  # validation characters for the reported loss
    grid: tuple = (0.3, 1.0, 3.0, 10.0)
    seeds: tuple = (0, 1, 2)
    cert_deltas: tuple = (1e-3, 1e-2, 1e-1, 1.0)
    cert_samples: int = 16
    cert_windows: int = 64  # training windows of the certified loss (a fixed, full-batch loss)


FULL = Config()
QUICK = Config(steps=100, eval_every=25, curve_chars=4096, tune_chars=8192, val_chars=8192, grid=(1.0,),
               seeds=(0,), cert_deltas=(1e-2,), cert_samples=4, cert_windows=16)


# ------------------------------------------------------------------------------------------------------------------
# data


def stdlib_text(files: Sequence[str]) -> str:
    """The concatenated source of ``files`` (names relative to the standard library directory)."""
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    parts = []
    for name in files:
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(f"files: {name!r} is not in this Python's standard library ({root})")
        parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def encode(text: str) -> torch.Tensor:
    """Character ids (int64): the index in ``ALPHABET``, ``UNKNOWN`` for any other character."""
    table = np.full(0x110000, UNKNOWN, dtype=np.int64)
    table[[ord(c) for c in ALPHABET]] = np.arange(len(ALPHABET))
    return torch.from_numpy(table[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)])


def load_corpus() -> tuple:
    """({split: ids}, {split: {"files", "chars", "sha256"}, "python": version})."""
    data, info = {}, {"python": sys.version.split()[0]}
    for split, files in SPLITS.items():
        text = stdlib_text(files)
        data[split] = encode(text)
        info[split] = {"files": list(files), "chars": len(text),
                       "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
    return data, info


def batch_windows(ids: torch.Tensor, context: int, starts: torch.Tensor) -> tuple:
    """(inputs, targets) of shape (len(starts), context): the windows at ``starts`` and the next characters."""
    idx = starts[:, None] + torch.arange(context + 1)
    chunk = ids[idx]
    return chunk[:, :-1], chunk[:, 1:]


def tiled_windows(ids: torch.Tensor, context: int, chars: int) -> tuple:
    """Non-overlapping windows covering the first ``chars`` characters (all of them if fewer): a fixed batch."""
    n = max(1, min(chars, len(ids) - 1) // context)
    return batch_windows(ids, context, torch.arange(n) * context)


# ------------------------------------------------------------------------------------------------------------------
# model


class Block(torch.nn.Module):
    """Pre-LayerNorm transformer block: causal self-attention, then a ReLU MLP, each with a residual connection."""

    def __init__(self, d_model: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(d_model)
        self.qkv = torch.nn.Linear(d_model, 3 * d_model)
        self.proj = torch.nn.Linear(d_model, d_model)
        self.ln2 = torch.nn.LayerNorm(d_model)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(d_model, 4 * d_model), torch.nn.ReLU(),
                                       torch.nn.Linear(4 * d_model, d_model))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b, t, d = h.shape
        q, k, v = self.qkv(self.ln1(h)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        # softmax(q kᵀ/√d_head + causal mask) v (Vaswani et al., NeurIPS 2017, eq. 1), written out so that
        # torch.func.vmap batches it (o2nc.torch.certify)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        att = scores.softmax(-1) @ v
        h = h + self.proj(att.transpose(1, 2).reshape(b, t, d))
        return h + self.mlp(self.ln2(h))


class CharTransformer(torch.nn.Module):
    """Decoder-only character transformer: ``model(ids)`` gives logits of shape (batch, time, VOCAB)."""

    def __init__(self, context: int = 64, d_model: int = 128, heads: int = 4, layers: int = 2):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"heads: must divide d_model = {d_model}, got {heads}")
        self.embed = torch.nn.Embedding(VOCAB, d_model)
        self.position = torch.nn.Parameter(0.02 * torch.randn(context, d_model))
        self.blocks = torch.nn.ModuleList(Block(d_model, heads) for _ in range(layers))
        self.ln = torch.nn.LayerNorm(d_model)
        self.head = torch.nn.Linear(d_model, VOCAB)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.embed(ids) + self.position[: ids.shape[1]]
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln(h))


def loss_on(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy in nats per character."""
    return F.cross_entropy(model(inputs).reshape(-1, VOCAB), targets.reshape(-1))


@torch.no_grad()
def evaluate(model: torch.nn.Module, windows: tuple, chunk: int = 256) -> float:
    """Mean loss (nats per character) over a fixed batch of windows, in chunks."""
    inputs, targets = windows
    total = 0.0
    for i in range(0, len(inputs), chunk):
        total += float(loss_on(model, inputs[i:i + chunk], targets[i:i + chunk])) * len(inputs[i:i + chunk])
    return total / len(inputs)


# ------------------------------------------------------------------------------------------------------------------
# methods


def _digits_example():
    spec = importlib.util.spec_from_file_location("digits_example", pathlib.Path(__file__).with_name("digits.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EMA = ("ema", 0.9)  # O2NC's output point, as in examples/digits.py


@dataclass(frozen=True)
class Method:
    """A method of the comparison: its default lr, whether it is tuned, and how to build its optimizer."""

    default_lr: float
    tuned: bool
    build: Callable  # (params, lr, steps, seed) -> (optimizer, scheduler or None)


def _o2nc(learner_fn, restart):
    def build(params, lr, steps, seed):
        from o2nc.torch import O2NC

        digits = _digits_example()
        return O2NC(params, learner=learner_fn(digits), lr=lr, epoch_length=digits.EPOCH_LENGTH, restart=restart,
                    averaging=EMA, seed=seed), None
    return build


def _ogd(digits):
    from online_learners import OGD

    return OGD(lr=0.02, radius=0.5)  # examples/digits.py's O2NC(OGD); the grid scales both through O2NC's lr


def _dftrl(digits):
    from online_learners import DiscountedFTRL

    return DiscountedFTRL(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, coordinatewise=True)


def _cosine(opt, steps):
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1.0 + math.cos(math.pi * min(t, steps) / steps)))


def _adamw(params, lr, steps, seed):
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    return opt, _cosine(opt, steps)


def _sgd(params, lr, steps, seed):
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9)
    return opt, _cosine(opt, steps)


def _schedule_free(params, lr, steps, seed):
    import schedulefree

    return schedulefree.AdamWScheduleFree(params, lr=lr, weight_decay=0.01, warmup_steps=0), None


def _mechanic(params, lr, steps, seed):
    from mechanic_pytorch import mechanize

    return mechanize(torch.optim.AdamW)(params, lr=lr, weight_decay=0.01), None


METHODS: dict[str, Method] = {
    "o2nc-free": Method(1.0, False, _o2nc(lambda digits: digits.parameter_free(), restart=False)),
    "o2nc-ogd": Method(1.0, True, _o2nc(_ogd, restart=True)),
    "o2nc-dftrl": Method(1.0, True, _o2nc(_dftrl, restart=False)),
    "adamw": Method(1e-3, True, _adamw),
    "sgd-momentum": Method(0.1, True, _sgd),
    "schedule-free-adamw": Method(2.5e-3, True, _schedule_free),
    "mechanic": Method(1e-3, True, _mechanic),
}
PACKAGES = {"schedule-free-adamw": "schedulefree", "mechanic": "mechanic_pytorch"}  # importable names
INSTALL = {"schedule-free-adamw": "schedulefree", "mechanic": "mechanic-pytorch"}  # pip names


def available(names: Sequence[str] | None = None) -> list:
    """The methods whose packages are importable (``schedulefree``, ``mechanic-pytorch`` are optional)."""
    out = []
    for name in METHODS if names is None else names:
        if name not in METHODS:
            raise ValueError(f"methods: unknown method {name!r}; choose from {', '.join(METHODS)}")
        if name not in PACKAGES or importlib.util.find_spec(PACKAGES[name]) is not None:
            out.append(name)
    return out


@contextlib.contextmanager
def output_point(opt):
    """The method's output point in the model's weights inside the block: O2NC's EMA point, schedule-free's x."""
    from o2nc.torch import O2NC

    if isinstance(opt, O2NC):
        with opt.eval_params():
            yield
    elif hasattr(opt, "eval") and hasattr(opt, "train"):  # schedule-free optimizers
        opt.eval()
        try:
            yield
        finally:
            opt.train()
    else:
        yield


# ------------------------------------------------------------------------------------------------------------------
# training and certification


def train(method: str, lr: float, data: dict, cfg: Config, seed: int) -> dict:
    """Train one method at one lr and seed; return the curve, the tuning and validation losses, and the model.

    The curve holds the validation loss (first ``cfg.curve_chars`` characters) at the output point every
    ``cfg.eval_every`` steps; ``val_loss`` uses ``cfg.val_chars``, ``tune_loss`` ``cfg.tune_chars``. ``model`` and
    ``optimizer`` are returned for :func:`certify_run` (dropped before JSON).
    """
    torch.manual_seed(seed)
    model = CharTransformer(cfg.context, cfg.d_model, cfg.heads, cfg.layers)
    opt, scheduler = METHODS[method].build(model.parameters(), lr, cfg.steps, seed)
    train_ids = data["train"]
    generator = torch.Generator().manual_seed(seed)
    curve_windows = tiled_windows(data["val"], cfg.context, cfg.curve_chars)
    curve = {"step": [], "val_loss": []}

    def record(step):
        with output_point(opt):
            curve["step"].append(step)
            curve["val_loss"].append(evaluate(model, curve_windows))

    started = time.perf_counter()
    for step in range(cfg.steps):
        if step % cfg.eval_every == 0:
            record(step)
        starts = torch.randint(0, len(train_ids) - cfg.context - 1, (cfg.batch,), generator=generator)
        inputs, targets = batch_windows(train_ids, cfg.context, starts)
        opt.zero_grad()
        loss = loss_on(model, inputs, targets)
        if not torch.isfinite(loss):
            break  # a diverged run: its losses below are inf/nan and it is never chosen
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
    seconds = time.perf_counter() - started
    record(cfg.steps)
    out = {"method": method, "lr": lr, "seed": seed, "steps": cfg.steps, "seconds": seconds, "curve": curve,
           "model": model, "optimizer": opt}
    with output_point(opt):
        out["tune_loss"] = evaluate(model, tiled_windows(data["tune"], cfg.context, cfg.tune_chars))
        out["val_loss"] = evaluate(model, tiled_windows(data["val"], cfg.context, cfg.val_chars))
    return out


def certify_run(run: dict, data: dict, cfg: Config) -> list:
    """Certificates of a trained run's output point: [{delta, epsilon, kind, calls, ball, seconds}] per δ.

    The certified function is the training loss on the first ``cfg.cert_windows`` non-overlapping training windows
    (a fixed, full-batch loss, so its gradients are exact and the kind is ``"sampled one-sided"``), bounded by
    ``o2nc.torch.certify`` with ``cfg.cert_samples`` points of each δ-ball of ``cfg.cert_deltas``.
    """
    from o2nc.torch import certify

    if not math.isfinite(run["val_loss"]):
        return []
    windows = tiled_windows(data["train"], cfg.context, cfg.cert_windows * cfg.context)
    rows = []
    with output_point(run["optimizer"]):
        for delta in cfg.cert_deltas:
            started = time.perf_counter()
            cert = certify(run["model"], lambda m: loss_on(m, *windows), delta=delta, samples=cfg.cert_samples,
                           seed=run["seed"])
            rows.append({**cert.as_dict(), "ball": delta, "seconds": time.perf_counter() - started})
    return rows


def finite_or_inf(x: float) -> float:
    return x if math.isfinite(x) else math.inf


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def compare(cfg: Config = FULL, methods: Sequence[str] | None = None, certify: bool = True,
            log: Callable = print) -> dict:
    """Tune every method on ``cfg.grid`` (seed 0, tuning loss), then run the chosen lr on every seed.

    Returns ``{"methods": {name: {"val_loss": [per seed], "tuned": {...}, "curves": [...], ...}}, "config": ...,
    "data": ...}``.
    """
    data, info = load_corpus()
    results = {"config": asdict(cfg), "data": info, "methods": {}}
    for name in available(methods):
        method = METHODS[name]
        grid = cfg.grid if method.tuned else (1.0,)
        first = cfg.seeds[0]
        trials = {}
        for m in grid:
            run = train(name, method.default_lr * m, data, cfg, first)
            trials[m] = run
            log(f"{name:20s} lr={run['lr']:.3g} seed={first}: tune {run['tune_loss']:.4f}, val {run['val_loss']:.4f}"
                f" ({run['seconds']:.0f} s)")
        best = min(grid, key=lambda m: finite_or_inf(trials[m]["tune_loss"]))
        lr = method.default_lr * best
        certificates = certify_run(trials[best], data, cfg) if certify else []
        for row in certificates:
            log(f"{name:20s} certificate: {row['kind']}, δ = {row['delta']:.3g}, ε = {row['epsilon']:.4g} "
                f"({row['seconds']:.0f} s)")
        trials = {m: {k: v for k, v in run.items() if k not in ("model", "optimizer")} for m, run in trials.items()}
        runs = [trials[best]]
        for seed in cfg.seeds[1:]:
            run = train(name, lr, data, cfg, seed)
            runs.append(run)
            log(f"{name:20s} lr={lr:.3g} seed={seed}: val {run['val_loss']:.4f} ({run['seconds']:.0f} s)")
        results["methods"][name] = {
            "val_loss": [r["val_loss"] for r in runs],
            "seeds": list(cfg.seeds),
            "tuned": {"lr": lr, "multiplier": best, "default_lr": method.default_lr,
                      # tuning-set loss per lr; null: the run diverged
                      "grid": {f"{method.default_lr * m:.6g}": finite_or_none(trials[m]["tune_loss"]) for m in grid}},
            "curves": [r["curve"] for r in runs],
            "seconds": [r["seconds"] for r in runs],
            "certificates": certificates,
        }
    return results


def table(results: dict) -> str:
    """One row per method: validation loss mean ± standard deviation over seeds, and the chosen lr."""
    lines = [f"{'method':22s} {'val loss (nats/char)':>22s}  {'lr':>9s}  tuned"]
    for name, row in results["methods"].items():
        v = np.array(row["val_loss"])
        sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        lines.append(f"{name:22s} {v.mean():14.4f} ± {sd:.4f}  {row['tuned']['lr']:9.3g}  "
                     f"{'grid of ' + str(len(row['tuned']['grid'])) if len(row['tuned']['grid']) > 1 else 'no'}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few minutes: 100 steps, default lrs, one seed")
    ap.add_argument("--json", type=pathlib.Path, help="write the results here")
    ap.add_argument("--seeds", type=int, help="number of seeds (default 3, 1 with --quick)")
    ap.add_argument("--steps", type=int, help="gradient steps per run")
    ap.add_argument("--methods", nargs="+", choices=list(METHODS), help="a subset of the methods")
    ap.add_argument("--no-certify", action="store_true", help="skip the certificates of the trained models")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.seeds is not None:
        if args.seeds < 1:
            ap.error("--seeds: expected an integer ≥ 1")
        cfg = replace(cfg, seeds=tuple(range(args.seeds)))
    if args.steps is not None:
        if args.steps < 1:
            ap.error("--steps: expected an integer ≥ 1")
        cfg = replace(cfg, steps=args.steps)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    missing = [m for m in (args.methods or METHODS) if m not in available(args.methods)]
    if missing:
        print(f"skipping {', '.join(missing)}: install {' and '.join(INSTALL[m] for m in missing)}")
    results = compare(cfg, args.methods, certify=not args.no_certify)
    print(table(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
