#!/usr/bin/env python3
"""Train the authors' flip-flop formulation in PyTorch from a dalesweep export and compare.

The export (scripts/torch-harness/export.mjs) holds a dalesweep flip-flop train stage's initial
parameters, data and per-epoch batch order, and the loss of every step of dalesweep's own
training. This script trains the authors' model (HChoiLab/biologicalRNNs,
Dales-backprop/flip-flop-conventional-backprop.ipynb, as described in SCIENCE.md sections 1, 2, 5)
from the same parameters on the same batches:

  * nn.RNN(1, N, nonlinearity='tanh', batch_first=True) with both biases, h0 = 0, stepped one time
    step at a time as in their notebook (--forward loop; --forward seq runs the whole sequence in
    one call, the same function);
  * readout y_t = tanh(fc(h_t)), fc = nn.Linear(N, 1);
  * nn.MSELoss() (mean over batch x time x outputs);
  * torch.optim.Adam(lr=1e-3) with PyTorch's defaults (betas 0.9, 0.999, eps 1e-8, no weight
    decay, no amsgrad), no gradient clipping, no projection (conventional rule);

and records the loss of every step, then compares with dalesweep step by step.

Modes:
  (default)   one free-running training of --epochs epochs from the initial parameters;
  --resync    for each epoch k, start from dalesweep's parameters AND Adam state after epoch k
              (export with --snapshots) and train one epoch: measures the per-epoch (local)
              disagreement, free of the amplification that a chaotic trajectory adds;
  --control seq|float64  (with --resync) also trains each of those epochs in a second PyTorch
              formulation that differs only in rounding (the whole sequence in one nn.RNN call, or
              float64) and reports how far the two PyTorch runs end apart: the yardstick for the
              dalesweep-vs-PyTorch distance.

A development check (docs/conventional-backprop.md), never a dependency of dalesweep. CPU only,
one thread.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import time

import numpy as np
import torch
from torch import nn

PARAM_NAMES = ["wIn", "bIn", "wHh", "bHh", "wOut", "bOut"]


# dalesweep's hidden-layer tanh (rnn/model-js-simd.ts emitTanh): Eigen's float32 rational
# approximation, clamped to +-7.905, evaluated in float32 in this order; backward 1 - a^2 of the
# approximated a (as dalesweep's BPTT). For --tanh rational only: a diagnostic, not the authors'.
_TANH_NUM = [4.89352455891786e-3, 6.37261928875436e-4, 1.48572235717979e-5, 5.12229709037114e-8, -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16]
_TANH_DEN = [4.89352518554385e-3, 2.26843463243900e-3, 1.18534705686654e-4, 1.19825839466702e-6]
_TANH_CLAMP = 7.90531110763549805


class RationalTanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        c = lambda v: torch.tensor(v, dtype=x.dtype)
        v = torch.clamp(x, -c(_TANH_CLAMP), c(_TANH_CLAMP))
        x2 = v * v
        num = c(_TANH_NUM[6]).expand_as(v)
        for k in range(5, -1, -1):
            num = num * x2 + c(_TANH_NUM[k])
        num = num * v
        den = c(_TANH_DEN[3]).expand_as(v)
        for k in range(2, -1, -1):
            den = den * x2 + c(_TANH_DEN[k])
        y = num / den
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class AuthorsRNN(nn.Module):
    """The authors' SimpleRNN: nn.RNN stepped one step at a time, output tanh(fc(h_t)).

    forward_mode `loop`: their notebook (nn.RNN called once per time step, h0 = 0, the state passed
    on without detaching); `seq`: one nn.RNN call over the sequence (the same function); `explicit`:
    h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) written out with the same nn.RNN parameters,
    act = torch.tanh, or dalesweep's rational tanh with tanh_mode `rational`.
    """

    def __init__(self, n_hidden: int, forward_mode: str, tanh_mode: str = "exact"):
        super().__init__()
        self.rnn = nn.RNN(1, n_hidden, num_layers=1, batch_first=True, nonlinearity="tanh")
        self.fc = nn.Linear(n_hidden, 1)
        self.n_hidden = n_hidden
        self.forward_mode = forward_mode
        self.act = RationalTanh.apply if tanh_mode == "rational" else torch.tanh

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(1, x.shape[0], self.n_hidden, dtype=x.dtype)
        if self.forward_mode == "seq":
            op, _ = self.rnn(x, h)
            return torch.tanh(self.fc(op))
        preds = []
        if self.forward_mode == "explicit":
            r = self.rnn
            h = h[0]
            for t in range(x.shape[1]):
                h = self.act(x[:, t, :] @ r.weight_ih_l0.T + r.bias_ih_l0 + h @ r.weight_hh_l0.T + r.bias_hh_l0)
                preds.append(torch.tanh(self.fc(h)))
            return torch.stack(preds, dim=1)
        for t in range(x.shape[1]):
            op, h = self.rnn(x[:, t : t + 1, :], h)
            preds.append(torch.tanh(self.fc(op[:, 0, :])))
        return torch.stack(preds, dim=1)

    # dalesweep name -> parameter of this module ([post, pre] row-major on both sides)
    def named(self) -> dict[str, nn.Parameter]:
        return {
            "wIn": self.rnn.weight_ih_l0,
            "bIn": self.rnn.bias_ih_l0,
            "wHh": self.rnn.weight_hh_l0,
            "bHh": self.rnn.bias_hh_l0,
            "wOut": self.fc.weight,
            "bOut": self.fc.bias,
        }

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        with torch.no_grad():
            for k, p in self.named().items():
                a = torch.from_numpy(np.asarray(arrays[k], dtype=np.float64))
                p.copy_(a.reshape(p.shape).to(p.dtype))


def load_params(d: str) -> dict[str, np.ndarray]:
    return {k: np.load(os.path.join(d, f"{k}.npy")) for k in PARAM_NAMES}


def load_adam(path: str, n_template: dict[str, np.ndarray]) -> dict:
    j = json.load(open(path))
    dec = lambda s, k: np.frombuffer(base64.b64decode(s), dtype="<f4").reshape(n_template[k].shape)
    return {"step": j["step"], "m": {k: dec(j["m"][k], k) for k in PARAM_NAMES}, "v": {k: dec(j["v"][k], k) for k in PARAM_NAMES}}


def set_adam_state(opt: torch.optim.Adam, model: AuthorsRNN, st: dict) -> None:
    for k, p in model.named().items():
        opt.state[p] = {
            "step": torch.tensor(float(st["step"]), dtype=torch.float32),
            "exp_avg": torch.from_numpy(st["m"][k].astype(np.float64)).reshape(p.shape).to(p.dtype).clone(),
            "exp_avg_sq": torch.from_numpy(st["v"][k].astype(np.float64)).reshape(p.shape).to(p.dtype).clone(),
        }


class Export:
    def __init__(self, d: str):
        self.dir = d
        self.config = json.load(open(os.path.join(d, "config.json")))
        self.init = load_params(os.path.join(d, "init"))
        self.grad0 = load_params(os.path.join(d, "grad0"))
        self.train_x = np.load(os.path.join(d, "data/train_x.npy"))
        self.train_y = np.load(os.path.join(d, "data/train_y.npy"))
        self.test_x = np.load(os.path.join(d, "data/test_x.npy"))
        self.test_y = np.load(os.path.join(d, "data/test_y.npy"))
        self.perm = np.load(os.path.join(d, "perm.npy"))
        p = os.path.join(d, "dalesweep_step_loss.npy")
        self.ds_step = np.load(p) if os.path.exists(p) else None
        p = os.path.join(d, "dalesweep_epochs.json")
        self.ds_epochs = json.load(open(p))["epochs"] if os.path.exists(p) else None
        self.B = int(self.config["batch"])
        self.N = int(self.config["nHidden"])
        self.batches_per_epoch = -(-self.train_x.shape[0] // self.B)

    def batch(self, split: str, idx: np.ndarray, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.train_x if split == "train" else self.test_x
        y = self.train_y if split == "train" else self.test_y
        return (torch.from_numpy(x[idx][:, :, None]).to(dtype), torch.from_numpy(y[idx][:, :, None]).to(dtype))


def test_loss(model: AuthorsRNN, ex: Export, dtype) -> float:
    """Mean over the test set of the per-batch MSE weighted by batch size (dalesweep's testLoss)."""
    n = ex.test_x.shape[0]
    s = 0.0
    with torch.no_grad():
        for a in range(0, n, ex.B):
            idx = np.arange(a, min(n, a + ex.B))
            x, y = ex.batch("test", idx, dtype)
            s += nn.functional.mse_loss(model(x), y).item() * len(idx)
    return s / n


def run_epoch(model, opt, ex: Export, epoch0: int, dtype, losses: list[float]) -> None:
    crit = nn.MSELoss()
    order = ex.perm[epoch0]
    for a in range(0, len(order), ex.B):
        x, y = ex.batch("train", order[a : a + ex.B], dtype)
        opt.zero_grad()
        loss = crit(model(x), y)
        losses.append(loss.item())
        loss.backward()
        opt.step()


def grad_check(ex: Export, forward_mode: str, dtype, tanh_mode: str = "exact") -> dict:
    """Gradients of the authors' loss at the initial parameters on the first batch vs dalesweep's."""
    model = AuthorsRNN(ex.N, forward_mode, tanh_mode).to(dtype)
    model.load(ex.init)
    x, y = ex.batch("train", ex.perm[0, : ex.B], dtype)
    loss = nn.MSELoss()(model(x), y)
    loss.backward()
    out = {"loss_torch": loss.item(), "loss_dalesweep": ex.config["loss0"]}
    for k, p in model.named().items():
        g = p.grad.detach().double().numpy().reshape(-1)
        d = ex.grad0[k].astype(np.float64).reshape(-1)
        out[k] = float(np.max(np.abs(g - d)) / max(np.max(np.abs(g)), 1e-30))
    return out


def from_snapshot(ex: Export, e: int, forward_mode: str, dtype, lr: float, tanh_mode: str = "exact"):
    """Model and Adam at dalesweep's state after epoch e (snap/e<e>; e = 0: initial, fresh Adam)."""
    snap = os.path.join(ex.dir, f"snap/e{e}")
    start = load_params(snap)
    model = AuthorsRNN(ex.N, forward_mode, tanh_mode).to(dtype)
    model.load(start)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    if e > 0:
        set_adam_state(opt, model, load_adam(os.path.join(snap, "adam.json"), start))
    return model, opt


def param_rel_diff(model: AuthorsRNN, ref: dict[str, np.ndarray]) -> dict[str, float]:
    """Per tensor: max |w - ref| / max |ref|."""
    out = {}
    for k, p in model.named().items():
        w = p.detach().double().numpy().reshape(-1)
        d = np.asarray(ref[k], dtype=np.float64).reshape(-1)
        out[k] = float(np.max(np.abs(w - d)) / max(np.max(np.abs(d)), 1e-30))
    return out


def first_exceeding(rel: np.ndarray, thr: float) -> int | None:
    w = np.nonzero(rel > thr)[0]
    return int(w[0]) if len(w) else None


def compare_steps(a: np.ndarray, b: np.ndarray) -> dict:
    n = min(len(a), len(b))
    rel = np.abs(a[:n] - b[:n]) / np.maximum(np.abs(b[:n]), 1e-30)
    return {
        "steps": n,
        "max_rel_first_30_steps": float(rel[:30].max()) if n else None,
        "first_step_rel_gt_1e-5": first_exceeding(rel, 1e-5),
        "first_step_rel_gt_1e-3": first_exceeding(rel, 1e-3),
        "first_step_rel_gt_1e-1": first_exceeding(rel, 1e-1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export", help="folder written by export.mjs")
    ap.add_argument("--epochs", type=int, default=None, help="default: all exported epochs")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--forward", choices=["loop", "seq", "explicit"], default="loop")
    ap.add_argument("--tanh", choices=["exact", "rational"], default="exact",
                    help="hidden nonlinearity of --forward explicit: torch.tanh, or dalesweep's rational approximation (diagnostic)")
    ap.add_argument("--resync", action="store_true", help="per-epoch comparison from dalesweep's snapshots")
    ap.add_argument("--control", choices=["seq", "float64"], default=None,
                    help="with --resync: also train each epoch from the same snapshot with --forward seq (float32) or in float64, "
                    "and report how far the two PyTorch runs end apart")
    ap.add_argument("--tag", default=None, help="name of the output files (default from the options)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)  # nothing random is drawn; only for completeness
    dtype = torch.float32 if args.dtype == "float32" else torch.float64
    ex = Export(args.export)
    epochs = args.epochs or ex.perm.shape[0]
    if args.control is not None and not args.resync:
        ap.error("--control needs --resync")
    if args.tanh == "rational" and args.forward != "explicit":
        ap.error("--tanh rational needs --forward explicit")
    tag = args.tag or f"{args.dtype}_{args.forward}{'_rational' if args.tanh == 'rational' else ''}{'_resync' if args.resync else ''}{'_control_' + args.control if args.control else ''}"
    nb = ex.batches_per_epoch
    print(f"{args.export}: seed {ex.config['seed']}, N={ex.N}, B={ex.B}, {nb} batches/epoch, {epochs} epochs, {args.dtype}, forward {args.forward}, tanh {args.tanh}")

    gc = grad_check(ex, args.forward, dtype, args.tanh)
    print("step-0 gradient check (max |g_torch - g_dalesweep| / max |g_torch|):", json.dumps(gc))

    losses: list[float] = []
    epochs_out = []
    t_start = time.time()
    lr = float(ex.config["lr"])
    model = AuthorsRNN(ex.N, args.forward, args.tanh).to(dtype)
    model.load(ex.init)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    control = None
    if args.control is not None:
        control = ("float32", "seq") if args.control == "seq" else ("float64", args.forward)
    for e in range(epochs):
        t0 = time.time()
        if args.resync:
            model, opt = from_snapshot(ex, e, args.forward, dtype, lr, args.tanh)
        n0 = len(losses)
        run_epoch(model, opt, ex, e, dtype, losses)
        tl = test_loss(model, ex, dtype)
        rec = {"epoch": e + 1, "trainLoss": float(np.mean(losses[n0:])), "testLoss": tl, "seconds": time.time() - t0}
        if args.resync:
            end = load_params(os.path.join(ex.dir, f"snap/e{e + 1}"))
            rec["param_rel_diff_after_epoch"] = param_rel_diff(model, end)
            ds = ex.ds_step[e * nb : (e + 1) * nb]
            rec["max_step_loss_rel_diff"] = float(np.max(np.abs(np.array(losses[n0:]) - ds) / np.abs(ds)))
            if control is not None:
                # The same epoch from the same state in another PyTorch formulation (the whole
                # sequence in one nn.RNN call, or float64): how much two PyTorch runs that differ
                # only in rounding separate in this epoch.
                cdt = torch.float32 if control[0] == "float32" else torch.float64
                m2, o2 = from_snapshot(ex, e, control[1], cdt, lr)
                l2: list[float] = []
                run_epoch(m2, o2, ex, e, cdt, l2)
                ref = {k: p.detach().double().numpy() for k, p in m2.named().items()}
                rec["control"] = f"{control[0]}_{control[1]}"
                rec["control_param_rel_diff_to_torch"] = param_rel_diff(model, ref)
                rec["control_param_rel_diff_to_dalesweep"] = param_rel_diff(m2, end)
                rec["control_max_step_loss_rel_diff_to_torch"] = float(np.max(np.abs(np.array(losses[n0:]) - np.array(l2)) / np.abs(np.array(l2))))
        epochs_out.append(rec)
        ds = ex.ds_epochs[e] if ex.ds_epochs and e < len(ex.ds_epochs) else None
        extra = f"  | dalesweep train {ds['trainLoss']:.6f} test {ds['testLoss']:.6f}" if ds else ""
        if args.resync:
            extra += f"  | max rel param diff {max(rec['param_rel_diff_after_epoch'].values()):.2e}, step loss {rec['max_step_loss_rel_diff']:.2e}"
        if "control" in rec:
            extra += f"  | torch vs {rec['control']}: {max(rec['control_param_rel_diff_to_torch'].values()):.2e}, step loss {rec['control_max_step_loss_rel_diff_to_torch']:.2e}"
        print(f"  epoch {e + 1:3d}: torch train {rec['trainLoss']:.6f} test {tl:.6f}{extra}  ({time.time() - t0:.1f} s)", flush=True)

    step = np.array(losses, dtype=np.float64)
    np.save(os.path.join(ex.dir, f"torch_{tag}_step_loss.npy"), step)
    summary = {
        "export": ex.dir,
        "seed": ex.config["seed"],
        "dtype": args.dtype,
        "forward": args.forward,
        "tanh": args.tanh,
        "resync": args.resync,
        "epochs": epochs,
        "seconds": time.time() - t_start,
        "torch_version": torch.__version__,
        "grad_check_step0": gc,
        "epochs_torch": epochs_out,
    }
    if ex.ds_step is not None and not args.resync:
        summary["step_comparison"] = compare_steps(step, ex.ds_step)
        c = summary["step_comparison"]
        print(
            f"step comparison ({c['steps']} steps): max rel diff over the first 30 steps {c['max_rel_first_30_steps']:.2e}; "
            f"first step with rel diff > 1e-5: {c['first_step_rel_gt_1e-5']}, > 1e-3: {c['first_step_rel_gt_1e-3']}, "
            f"> 1e-1: {c['first_step_rel_gt_1e-1']} (steps counted from 0, {nb} per epoch)"
        )
    json.dump(summary, open(os.path.join(ex.dir, f"torch_{tag}.json"), "w"), indent=1)
    print(f"wrote torch_{tag}.json and torch_{tag}_step_loss.npy in {ex.dir} ({summary['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
