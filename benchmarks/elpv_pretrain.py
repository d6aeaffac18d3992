"""Benchmark: in-domain self-supervised pretraining (`ossad pretrain`) on ELPV, against random weights and from scratch.

For each (setting, seed): the split of benchmarks/elpv_methods.py, a ResNet-18 pretrained from scratch with the three-way
CutPaste task on that split's training images only (ossad.pretrain.training_images: the normal pool and the labelled
anomalies, labels ignored, never the test images), then on the split's test set:

- the kNN baseline (ossad.models.knn, no labels) on the pretrained features and on random features of the same network;
- DevNet's teaching preset started from the pretrained weights (`ossad train --weights FILE`).

DevNet from scratch, the ImageNet routes and the darkness score are in their own tables (elpv_devnet_dra, elpv_pretrained,
elpv_knn, elpv_brightness_baseline); the pretraining chapter renders them side by side. After every (setting, seed) the
CSV and the Markdown table are rewritten, so an interrupted run keeps what it measured; --resume runs only what is missing.

    python benchmarks/elpv_pretrain.py --settings general-10 --seeds 0 1 2
"""
import argparse, csv, shutil, shlex, sys, tempfile, time
from pathlib import Path

import torch

from ossad.core import machine_info, describe_machine, Timer
from ossad.data import load_elpv
from ossad.detector import TrainConfig
from ossad.learner import Learner
from ossad.models.knn import KNNConfig, KNNSettings
from ossad.pretrain import PretrainConfig, pretrain, save_pretrained, training_images
from ossad.protocols import make_split
from ossad.runs import make_config, build_detector, parse_sets

from elpv_settings import SETTINGS, DEFAULT_SETTINGS

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS, choices=list(SETTINGS))
ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
ap.add_argument("--steps", type=int, default=PretrainConfig.steps, help="pretraining steps (default: the chapter's)")
ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a DevNet setting, as `ossad train --set` (e.g. epochs=1 for a smoke test)")
ap.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: PyTorch's)")
ap.add_argument("--name", default="elpv_pretrain")
ap.add_argument("--resume", action="store_true", help="keep the rows of an existing CSV and run only the (setting, seed) pairs it lacks")
ap.add_argument("--note", action="append", default=[], help="a line of context under the table (e.g. what shared the machine)")
args = ap.parse_args()
if args.threads: torch.set_num_threads(args.threads)

out = Path(__file__).resolve().parent / "results"; out.mkdir(exist_ok=True)
csv_path, md_path = out / f"{args.name}.csv", out / f"{args.name}.md"
keep, skip = [], False
for a in sys.argv[1:]:
    if skip: skip = False; continue
    if a == "--note": skip = True; continue
    if a == "--resume": continue
    keep.append(a)
command = "python benchmarks/elpv_pretrain.py " + " ".join(shlex.quote(a) for a in keep)
machine = describe_machine(machine_info("cpu"))
fields = ["setting", "seed", "n_pretrain_images", "proxy_accuracy", "pretrain_seconds", "knn_random", "knn_pretrained", "devnet_pretrained", "devnet_train_seconds"]
rows = []
if args.resume and csv_path.exists():
    rows = list(csv.DictReader(open(csv_path)))
    if md_path.exists(): args.note[:0] = [l[6:] for l in md_path.read_text().splitlines() if l.startswith("Note: ") and l[6:] not in args.note]
pcfg = PretrainConfig(steps=args.steps)

def ms(vals):
    vals = [float(v) for v in vals if v not in ("", None)]
    if not vals: return "–"
    m = sum(vals) / len(vals); sd = (sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else 0.0
    return f"{m:.3f} ± {sd:.3f} (n={len(vals)})"

def write(done):
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields); w.writeheader(); w.writerows(rows)
    sets = [s for s in args.settings if any(r["setting"] == s for r in rows)]
    col = lambda key: " | ".join(ms([r[key] for r in rows if r["setting"] == s]) for s in sets)
    lines = ["# ELPV: in-domain self-supervised pretraining (ResNet-18, 3-way CutPaste)", "",
             f"Produced by `{command}`" + ("" if done else " (**partial**: rows so far)") + f" on {time.strftime('%Y-%m-%d')}.", "",
             f"- machine: {machine} ({torch.get_num_threads()} threads)",
             f"- seeds: {sorted({int(r['seed']) for r in rows})} (each draws the split; pretraining uses that split's training images only)",
             f"- pretraining: {pcfg.backbone} from scratch, {pcfg.image_size} px, {pcfg.steps} steps of {pcfg.batch_size} images (x3 with CutPaste and scar), Adam lr {pcfg.lr}, cosine decay",
             "- pretraining images: the split's training images, the normal pool and its labelled anomalies (labels ignored), never its test images",
             f"- kNN: pooled ResNet-18 features at {pcfg.image_size} px (random weights drawn from the seed), k = 5, standardised; DevNet: teaching preset from the pretrained weights"
             + (f" ({' '.join(args.set)})" if args.set else "") + "; one evaluation with the final weights", "",
             "| (mean ± std over seeds) | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets),
             "| AUROC, kNN on random ResNet-18 features | " + col("knn_random") + " |",
             "| AUROC, kNN on pretrained features | " + col("knn_pretrained") + " |",
             "| AUROC, DevNet from the pretrained weights | " + col("devnet_pretrained") + " |",
             "| proxy accuracy (last 20 steps; chance 0.333) | " + col("proxy_accuracy") + " |",
             "| pretraining, seconds | " + col("pretrain_seconds") + " |",
             "| DevNet training, seconds (after pretraining) | " + col("devnet_train_seconds") + " |", "",
             f"One row per (setting, seed) in {csv_path.name}."] + [""] + [f"Note: {n}" for n in args.note]
    md_path.write_text("\n".join(lines) + "\n")

data = load_elpv()
data.tensors(pcfg.image_size, progress=False)
tmp = Path(tempfile.mkdtemp())
for seed in args.seeds:
    for sname in args.settings:
        if any(r["setting"] == sname and int(r["seed"]) == seed for r in rows): continue
        split = make_split(data, seed=seed, **SETTINGS[sname])
        images = training_images(split)
        with Timer() as t: backbone, hist = pretrain(images, pcfg, seed=seed, progress=False)
        wfile = save_pretrained(backbone, tmp / f"{sname}-{seed}.pt", pcfg, images, seed, hist)
        knn = {}
        for tag, w in (("random", None), ("pretrained", str(wfile))):
            kcfg = KNNConfig(model=KNNSettings(backbone=pcfg.backbone, weights=w), train=TrainConfig(image_size=pcfg.image_size, epochs=0, rotate=0.0, eval_batch_size=64))
            learn = Learner(build_detector("knn", kcfg, seed), split, kcfg, seed=seed, progress=False)   # random weights drawn from the seed
            learn.fit(); knn[tag] = learn.evaluate()["auroc"]
        dcfg = make_config("devnet", "teaching", {"weights": str(wfile), **parse_sets(args.set)})
        learn = Learner(build_detector("devnet", dcfg, seed), split, dcfg, seed=seed, progress=False); learn.fit(); dm = learn.evaluate()
        acc = sum(h["accuracy"] for h in hist[-20:]) / len(hist[-20:])
        rows.append(dict(setting=sname, seed=seed, n_pretrain_images=len(images), proxy_accuracy=round(acc, 4), pretrain_seconds=round(t.seconds, 1),
                         knn_random=knn["random"], knn_pretrained=knn["pretrained"], devnet_pretrained=dm["auroc"], devnet_train_seconds=dm["train_seconds"]))
        print(f"{sname} seed {seed}: proxy acc {acc:.3f} ({t.seconds:.0f} s); kNN random {knn['random']:.4f}, pretrained {knn['pretrained']:.4f}; "
              f"DevNet from pretrained {dm['auroc']:.4f}", flush=True)
        write(done=False)
        wfile.unlink()
shutil.rmtree(tmp, ignore_errors=True)
write(done=True)
print(md_path.read_text())
