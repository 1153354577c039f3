#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- --only torch` (bench/torch.ts): the model of rnn/types.ts
written idiomatically in PyTorch, trained from dalesweep's exported bench batch and initial
weights, one thread, eager (a Python time-step loop) and under torch.compile.

Runs as a server driven by bench/torch.ts: one JSON command per stdin line, one JSON reply per
stdout line (anything else goes to stderr), so that the node side can interleave its own rounds
with these (A B A B under the same load):

  {"cmd": "load", "task": "flipflop", "dir": "/tmp/x/flipflop"}
      -> {"ok": true, "torch": "2.15.0", "threads": 1}
  {"cmd": "check", "task": "flipflop", "mode": "eager" | "compile"}
      one training step from the case's start weights (init/), compared with the js backend's exported step:
      -> {"ok": true, "loss": .., "lossRelDiff": .., "gradRelDiff": {name: ..}, "paramRelDiff": {..},
          "seconds": ..}   (seconds: wall time of the step, i.e. the compile time for "compile")
  {"cmd": "time", "task": "flipflop", "mode": "eager" | "eager-ftz" | "compile" | "compile-ftz",
   "warmup": 2, "minSteps": 5, "minSeconds": 3, "maxSteps": 500}
      restarts from the start weights and a fresh Adam, then times training steps ("-ftz": with
      torch.set_flush_denormal(True), i.e. subnormals flushed to zero, as the js kernels flush tiny
      BPTT gradients; reset afterwards)
      -> {"ok": true, "steps": .., "seconds": .., "stepsPerSec": .., "stepsPerCpuSec": .., "lastLoss": ..}
      (stepsPerCpuSec: per second of the process's CPU time, all threads)
  {"cmd": "quit"}

A failing command replies {"ok": false, "error": "..."} and the server carries on.

Export layout (written by bench/torch.ts exportTorchCase), float32 row-major, [post, pre]:
  config.json                 nInput, nHidden, nOutput, nExc, rule, head, threshold, B, T, lr,
                              beta1, beta2, eps, jsLoss
  init/<name>.npy             wIn [N,nIn], bIn [N], wHh [N,N], bHh [N], wOut [nOut,N], bOut [nOut]
  batch/x.npy                 [B, T, nIn]
  batch/target.npy            [B, T, nOut] (per-step heads) | batch/labels.npy int32 [B] (softmax-last)
  js/grad/<name>.npy          the js backend's gradients at the start weights on the batch
  js/step/<name>.npy          the js weights after one step (lossAndGrad, Adam, rule projection)

One step = loss and gradients + torch.optim.Adam (defaults: betas 0.9/0.999, eps 1e-8) + the
rule's projection (dale: E columns max(0, w), I columns min(0, w)), as the js bench step.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn.functional as F

PARAM_NAMES = ["wIn", "bIn", "wHh", "bHh", "wOut", "bOut"]


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / max(||b||, tiny), Frobenius, in float64."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def make_loss_fn(cfg: dict):
    """loss(x_tm [T,B,nIn], target_tm [T,B,nOut] | labels [B], wIn, bIn, wHh, bHh, wOut, bOut)."""
    head = cfg["head"]
    rule = cfg["rule"]
    th = float(cfg["threshold"])
    if rule not in ("dale", "conventional"):
        raise ValueError(f"rule {rule} is not implemented here (dale, conventional)")
    if head not in ("tanh", "linear", "softmax-last"):
        raise ValueError(f"head {head} is not implemented here (tanh, linear, softmax-last)")
    rect = rule == "dale"

    def loss_fn(x, tgt, wIn, bIn, wHh, bHh, wOut, bOut):
        T, B, nIn = x.shape
        # Input projection and both biases for all steps at once, then the recurrence.
        # (unbind, not u[t]: the backward of indexing u[t] would build a zero tensor of u's whole
        # shape per step, 60 % of an eager step at T = 50)
        u = torch.addmm(bIn + bHh, x.reshape(T * B, nIn), wIn.t()).view(T, B, -1).unbind(0)
        wT = wHh.t()
        states = []
        r = None
        for t in range(T):
            pre = u[t] if r is None else torch.addmm(u[t], r, wT)
            a = torch.tanh(pre)
            states.append(a)
            if rect:
                r = torch.relu(a) if th == 0.0 else torch.where(a > th, a, torch.zeros_like(a))
            else:
                r = a
        if head == "softmax-last":
            z = torch.addmm(bOut, states[-1], wOut.t())
            return F.cross_entropy(z, tgt)
        a_all = torch.stack(states)  # [T, B, N]
        z = torch.matmul(a_all, wOut.t()) + bOut
        y = torch.tanh(z) if head == "tanh" else z
        return F.mse_loss(y, tgt)

    return loss_fn


class Case:
    """One exported task: its tensors, parameters, optimiser and step functions."""

    def __init__(self, d: str):
        self.dir = d
        self.cfg = json.load(open(os.path.join(d, "config.json")))
        cfg = self.cfg
        self.init = {k: np.load(os.path.join(d, "init", f"{k}.npy")) for k in PARAM_NAMES}
        self.params = [torch.nn.Parameter(torch.from_numpy(self.init[k].copy())) for k in PARAM_NAMES]
        x = np.load(os.path.join(d, "batch", "x.npy"))  # [B, T, nIn]
        self.x = torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2)))  # time-major
        if cfg["head"] == "softmax-last":
            self.tgt = torch.from_numpy(np.load(os.path.join(d, "batch", "labels.npy")).astype(np.int64))
        else:
            y = np.load(os.path.join(d, "batch", "target.npy"))
            self.tgt = torch.from_numpy(np.ascontiguousarray(y.transpose(1, 0, 2)))
        self.loss_fn = make_loss_fn(cfg)
        self.compiled = None
        self.nExc = int(cfg["nExc"])
        self.rect_rule = cfg["rule"] == "dale"
        self.reset()

    def reset(self) -> None:
        with torch.no_grad():
            for p, k in zip(self.params, PARAM_NAMES):
                p.copy_(torch.from_numpy(self.init[k]))
                p.grad = None
        c = self.cfg
        self.opt = torch.optim.Adam(self.params, lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"])

    def fn(self, mode: str):
        mode = mode.removesuffix("-ftz")
        if mode == "eager":
            return self.loss_fn
        if mode == "compile":
            if self.compiled is None:
                self.compiled = torch.compile(self.loss_fn)
            return self.compiled
        raise ValueError(f"mode must be eager or compile, got {mode}")

    def step(self, fn) -> float:
        self.opt.zero_grad(set_to_none=True)
        loss = fn(self.x, self.tgt, *self.params)
        loss.backward()
        self.opt.step()
        if self.rect_rule:
            with torch.no_grad():
                w = self.params[2]
                w[:, : self.nExc].clamp_(min=0)
                w[:, self.nExc :].clamp_(max=0)
        return float(loss.detach())


def cmd_check(case: Case, mode: str) -> dict:
    case.reset()
    fn = case.fn(mode)
    t0 = time.perf_counter()
    # Loss and gradients first (the step's Adam update overwrites nothing of them).
    case.opt.zero_grad(set_to_none=True)
    loss_t = fn(case.x, case.tgt, *case.params)
    loss_t.backward()
    grads = {k: p.grad.detach().numpy().copy() for k, p in zip(PARAM_NAMES, case.params)}
    case.opt.step()
    if case.rect_rule:
        with torch.no_grad():
            w = case.params[2]
            w[:, : case.nExc].clamp_(min=0)
            w[:, case.nExc :].clamp_(max=0)
    seconds = time.perf_counter() - t0
    loss = float(loss_t.detach())
    js_loss = float(case.cfg["jsLoss"])
    d = case.dir
    grad_rel = {k: rel_diff(grads[k], np.load(os.path.join(d, "js", "grad", f"{k}.npy"))) for k in PARAM_NAMES}
    param_rel = {
        k: rel_diff(p.detach().numpy(), np.load(os.path.join(d, "js", "step", f"{k}.npy")))
        for k, p in zip(PARAM_NAMES, case.params)
    }
    case.reset()
    return {
        "ok": True,
        "loss": loss,
        "jsLoss": js_loss,
        "lossRelDiff": abs(loss - js_loss) / abs(js_loss),
        "gradRelDiff": grad_rel,
        "paramRelDiff": param_rel,
        "seconds": seconds,
    }


def cmd_time(case: Case, m: dict) -> dict:
    ftz = m["mode"].endswith("-ftz")
    if ftz and not torch.set_flush_denormal(True):
        raise RuntimeError("torch.set_flush_denormal is not supported on this CPU")
    try:
        return time_steps(case, m)
    finally:
        if ftz:
            torch.set_flush_denormal(False)


def time_steps(case: Case, m: dict) -> dict:
    case.reset()
    fn = case.fn(m["mode"])
    loss = float("nan")
    for _ in range(int(m.get("warmup", 2))):
        loss = case.step(fn)
    steps = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    elapsed = 0.0
    min_steps, min_s, max_steps = int(m.get("minSteps", 5)), float(m.get("minSeconds", 3)), int(m.get("maxSteps", 500))
    while steps < max_steps and (steps < min_steps or elapsed < min_s):
        loss = case.step(fn)
        steps += 1
        elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {"ok": True, "steps": steps, "seconds": elapsed, "stepsPerSec": steps / elapsed, "stepsPerCpuSec": steps / cpu, "lastLoss": loss}


def main() -> None:
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set (only possible before any parallel work)
    cases: dict[str, Case] = {}
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            m = json.loads(line)
            c = m.get("cmd")
            if c == "quit":
                break
            if c == "load":
                cases[m["task"]] = Case(m["dir"])
                rep = {"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}
            elif c == "check":
                rep = cmd_check(cases[m["task"]], m["mode"])
            elif c == "time":
                rep = cmd_time(cases[m["task"]], m)
            else:
                rep = {"ok": False, "error": f"unknown command {c!r}"}
        except Exception as e:  # reported to the node side, which decides (e.g. compile unavailable)
            traceback.print_exc(file=sys.stderr)
            msg = f"{type(e).__name__}: {e}".strip().splitlines()
            rep = {"ok": False, "error": " ".join(msg)[:500]}
        out.write(json.dumps(rep) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
