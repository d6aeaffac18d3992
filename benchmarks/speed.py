"""Benchmark: how fast each method's teaching preset trains on this machine, in float32 and on the fast path.

For every method (DevNet, DRA, SaliencyCut, BGAD, IGD) on ELPV general-10, seed 0, and each of the four combinations of
mixed precision (bfloat16 on a CPU) and channels-last, it builds one learner, trains one untimed warm-up epoch, and then
times `--rounds` rounds of `--steps` training steps (batches drawn, augmented and learned from, as in a real run; the
methods' one-off set-up, such as caching frozen features, is not timed). The four combinations take turns within each
round, in a rotating order, so a machine that slows down or speeds up for a while (a shared virtual machine does)
touches all four alike; a row reports the median round and the range of the rounds. It counts the floating-point operations of one training step with PyTorch's flop formulas
and compares the achieved rate with the machine's matrix-multiply peak (2048 x 2048, best of ten calls) in the same precision.
It also times scoring (`predict`) of 64 test images. `"auto"` is what `ossad.learner.fast_path` picks on this machine;
the tables say whether that was the fastest measured combination.

    benchmarks/results/<name>.csv   one row per (method, combination)
    benchmarks/results/<name>.md    the tables, with the command, machine and date

    python benchmarks/speed.py                        # every method, 3 rounds of 10 timed steps per combination
    python benchmarks/speed.py --methods devnet --readme   # and time the README's command end to end (fresh process)

Time it on an otherwise idle machine: another job sharing the cores changes every number.
"""
import argparse, csv, json, shlex, subprocess, sys, tempfile, time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ossad.core import machine_info, describe_machine
from ossad.data import load_elpv
from ossad.detector import Callback
from ossad.learner import Learner, fast_path
from ossad.protocols import make_split
from ossad.runs import make_config, build_detector

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--methods", nargs="+", default=["devnet", "dra", "saliencycut", "bgad", "igd"])
ap.add_argument("--steps", type=int, default=10, help="timed training steps per round, method and combination")
ap.add_argument("--rounds", type=int, default=3, help="rounds in which the four combinations take turns (the row reports the median round)")
ap.add_argument("--readme", action="store_true", help="also time the README's quick-start training command end to end, in a fresh process")
ap.add_argument("--name", default="speed")
args = ap.parse_args()
if args.steps < 2 or args.rounds < 1: sys.exit("--steps must be at least 2 and --rounds at least 1")

out_dir = Path(__file__).resolve().parent / "results"
out_dir.mkdir(exist_ok=True)
csv_path, md_path = out_dir / f"{args.name}.csv", out_dir / f"{args.name}.md"
command = "python benchmarks/speed.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
info = machine_info("cpu")
started = time.strftime("%Y-%m-%d %H:%M")
VARIANTS = [(False, False), (False, True), (True, False), (True, True)]
label = lambda amp, cl: ("bf16" if amp else "fp32") + (" + channels-last" if cl else "")


def matmul_peak(dtype: torch.dtype, n: int = 2048, reps: int = 10) -> float:
    "GFLOP/s of an n x n matrix product in `dtype` (best of `reps` calls after two warm-up calls)."
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(2): a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


class FlopCount(TorchDispatchMode):
    "Counts the FLOPs of the operators PyTorch's flop counter knows (convolutions, matrix products), forward and backward."
    # torch.utils.flop_counter.FlopCounterMode counts the same, but its module hooks break SaliencyCut's torch.autograd.grad
    def __init__(self): super().__init__(); self.total = 0
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None: self.total += formula(*args, **(kwargs or {}), out_val=out)
        return out
    def get_total_flops(self): return self.total


class StepClock(Callback):
    "Timestamps after every step; with `count_first` set, counts the FLOPs of the next epoch's first step, which the timed window leaves out."
    order = 100
    def __init__(self): self.times, self.flops, self.mode, self.count_first = [], None, None, False
    def before_epoch(self, learn):
        self.times = []
        if self.count_first: self.count_first, self.mode = False, FlopCount(); self.mode.__enter__()
    def after_step(self, learn):
        if self.mode is not None: self.mode.__exit__(None, None, None); self.flops, self.mode = self.mode.get_total_flops(), None
        self.times.append(time.perf_counter())          # (after the counter stopped: the window starts here)


def measure_peaks(): return {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
peaks_start = peaks = measure_peaks()   # measured again at the end: the larger of the two is the peak (a slow spell lowers one of them)
print(f"matmul peak: fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s", flush=True)
auto = fast_path("cpu")
data = load_elpv()
split = make_split(data, seed=0, setting="general", shots=10)
rows = []
median = lambda v: sorted(v)[len(v) // 2] if len(v) % 2 else sum(sorted(v)[len(v) // 2 - 1: len(v) // 2 + 1]) / 2
for method in args.methods:
    teaching = make_config(method, "teaching").train
    learners, clocks, cfgs = {}, {}, {}
    for amp, cl in VARIANTS:                           # one learner per combination, each warmed up by one untimed epoch
        cfg = make_config(method, "teaching", {"amp": amp, "channels_last": cl})
        cfg.train.epochs, cfg.train.steps_per_epoch = 1 + args.rounds, args.steps + 1   # a round: one step that takes the epoch's start, then the timed steps
        learn = Learner(build_detector(method, cfg, 0), split, cfg, seed=0, device="cpu", progress=False)   # the CPU, which the peaks and labels describe
        clock = StepClock(); learn.cbs.append(clock)
        learn.fit(1)
        learners[amp, cl], clocks[amp, cl], cfgs[amp, cl] = learn, clock, cfg
    speeds = {v: [] for v in VARIANTS}
    for r in range(args.rounds):
        for v in VARIANTS[r % 4:] + VARIANTS[:r % 4]:  # each round starts with another combination
            clocks[v].count_first = r == 0             # the FLOPs of a step like the timed ones (BGAD's warm-up epoch is its cheaper phase 1)
            learners[v].fit(1)
            t = clocks[v].times
            speeds[v].append(cfgs[v].train.batch_size * args.steps / (t[-1] - t[0]))   # steps 2 .. steps+1 of the round
    for amp, cl in VARIANTS:
        learn, clock, cfg = learners[amp, cl], clocks[amp, cl], cfgs[amp, cl]
        ips = median(speeds[amp, cl]); step_s = cfg.train.batch_size / ips
        x = split.test.tensors(cfg.train.image_size, progress=False)[:64]
        learn.predict(x[:8])                                            # warm-up
        t = time.perf_counter(); learn.predict(x); eval_ips = len(x) / (time.perf_counter() - t)
        gflops = clock.flops / step_s / 1e9
        peak = peaks["bf16" if amp else "fp32"]
        teaching_steps = teaching.epochs * teaching.steps_per_epoch
        row = dict(method=method, combination=label(amp, cl), amp=amp, channels_last=cl, auto=(amp, cl) == (auto["amp"], auto["channels_last"]),
                   image_size=cfg.train.image_size, batch_size=cfg.train.batch_size, train_images_per_second=round(ips, 1),
                   train_ips_min=round(min(speeds[amp, cl]), 1), train_ips_max=round(max(speeds[amp, cl]), 1), rounds=args.rounds,
                   step_seconds=round(step_s, 4), gflop_per_step=round(clock.flops / 1e9, 2), achieved_gflops=round(gflops, 1),
                   peak_fraction=round(gflops / peak, 3), teaching_steps=teaching_steps,
                   teaching_train_seconds=round(teaching_steps * step_s, 1), eval_images_per_second=round(eval_ips, 1))
        rows.append(row)
        print(f"{method:12s} {row['combination']:24s} train {ips:6.1f} img/s ({row['train_ips_min']}-{row['train_ips_max']}; {gflops:5.1f} GFLOP/s, "
              f"{100 * gflops / peak:4.1f}% of peak) eval {eval_ips:6.1f} img/s", flush=True)
    del learners, clocks

peaks_end = measure_peaks()
peaks = {p: max(peaks_start[p], peaks_end[p]) for p in peaks_start}
for r in rows: r["peak_fraction"] = round(r["achieved_gflops"] / peaks["bf16" if r["amp"] else "fp32"], 3)
print(f"matmul peak at the end: fp32 {peaks_end['fp32']:.0f} GFLOP/s, bf16 {peaks_end['bf16']:.0f} GFLOP/s", flush=True)

readme = None
if args.readme:
    cmd = ["ossad", "train", "--method", "devnet", "--dataset", "elpv", "--setting", "general", "--shots", "10", "--seed", "0", "--preset", "teaching"]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run(cmd + ["--out", f"{tmp}/run", "--no-progress"], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t
        m = json.loads(Path(f"{tmp}/run/metrics.json").read_text())
        c = json.loads(Path(f"{tmp}/run/config.json").read_text())["config"]["train"]
    readme = dict(command=" ".join(cmd), wall_seconds=round(wall, 1), train_seconds=m["train_seconds"], auroc=round(m["auroc"], 4),
                  amp=c["amp"], channels_last=c["channels_last"])
    print(f"README command: {wall:.0f} s wall, {m['train_seconds']:.0f} s training, AUROC {m['auroc']:.3f}", flush=True)

with open(csv_path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
lines = [f"# Training speed of the teaching presets ({args.name})", "",
         f"- command: `{command}`", f"- machine: {describe_machine(info)}", f"- date: {started}",
         f"- data: ELPV general-10, seed 0; per row one warm-up epoch, then {args.rounds} rounds of {args.steps} timed training steps, the four combinations taking turns in each round; scoring of 64 test images",
         f"- matrix-multiply peak (2048 x 2048, best of 10, at the start and at the end of the run; the larger counts): fp32 **{peaks['fp32']:.0f}** GFLOP/s "
         f"({peaks_start['fp32']:.0f} and {peaks_end['fp32']:.0f}), bf16 **{peaks['bf16']:.0f}** GFLOP/s ({peaks_start['bf16']:.0f} and {peaks_end['bf16']:.0f})",
         f"- `\"auto\"` on this machine: amp={auto['amp']}, channels_last={auto['channels_last']} ({auto['reason']})", "",
         "| method | combination | train img/s | rounds' range | × fp32 | GFLOP/step | GFLOP/s | % of peak | teaching training (s) | scoring img/s |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for method in args.methods:
    mine = [r for r in rows if r["method"] == method]
    base = next(r for r in mine if not r["amp"] and not r["channels_last"])["train_images_per_second"]
    best = max(mine, key=lambda r: r["train_images_per_second"])
    for r in mine:
        name = r["combination"] + (" (auto)" if r["auto"] else "")
        ips = f"**{r['train_images_per_second']}**" if r is best else str(r["train_images_per_second"])
        lines.append(f"| {method} | {name} | {ips} | {r['train_ips_min']}–{r['train_ips_max']} | {r['train_images_per_second'] / base:.2f} | {r['gflop_per_step']} | {r['achieved_gflops']} | "
                     f"{100 * r['peak_fraction']:.1f} | {r['teaching_train_seconds']} | {r['eval_images_per_second']} |")
lines += ["", "Bold: the fastest combination of each method (by the median round; `train img/s` and everything after it use the median). `% of peak` compares the FLOPs counted in one training step "
          "(forward and backward convolutions and matrix products) with the matrix-multiply peak of the same precision. "
          "`teaching training` projects the preset's whole training (its steps × the timed step), without the one-off set-up."]
auto_best = [m for m in args.methods if max((r for r in rows if r["method"] == m), key=lambda r: r["train_images_per_second"])["auto"]]
def close(m):
    "auto's rounds reach the fastest combination's slowest round: the two are apart by less than the machine's spread"
    mine = [r for r in rows if r["method"] == m]
    best, a = max(mine, key=lambda r: r["train_images_per_second"]), next(r for r in mine if r["auto"])
    return a["train_ips_max"] >= best["train_ips_min"]
auto_close = [m for m in args.methods if m not in auto_best and close(m)]
lines.append(f"`\"auto\"` was the fastest combination for {len(auto_best)} of {len(args.methods)} methods" + (f" ({', '.join(auto_best)})" if auto_best else "")
             + (f"; for {', '.join(auto_close[:-1]) + ' and ' if len(auto_close) > 1 else ''}{auto_close[-1]}, auto's rounds overlap the fastest combination's range." if auto_close else "."))
if readme:
    lines += ["", f"README command, end to end in a fresh process (`{readme['command']}`, amp={readme['amp']}, channels_last={readme['channels_last']}): "
              f"**{readme['wall_seconds']} s** wall, {readme['train_seconds']:.0f} s of training, AUROC {readme['auroc']:.3f}."]
md_path.write_text("\n".join(lines) + "\n")
print(md_path.read_text())
