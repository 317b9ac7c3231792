#!/usr/bin/python3
"""Pictures of experiments (issue 7), drawn with matplotlib (Debian python3-matplotlib).

  plots.py curves RUNS_OR_RESULTS_DIR [--metric acc] [--per-seed] --out curves.png
      dev metric against step and against training wall time, one line per variant (mean over
      seeds; --per-seed: one line per run), from each run's train_log.jsonl
  plots.py attention --model DIR --src "t o k" [--src ...] [--s2s PATH] --out heatmap.png
      attention heatmaps from `s2s translate --attention-out` (docs/attention_format.md):
      source tokens across, output tokens down; for a Transformer each head and their average
  plots.py by-length BY_LENGTH_CSV_OR_RESULTS_DIR [...] --out length.png [--panels copy- reverse-]
          [--ylim 60,90]
      exact match by source-length bucket per variant (mean ± std over seeds), from the
      by_length.csv that experiments/run_experiment.py or experiments/by_length.py writes; with
      --panels, one panel per variant-name prefix (side by side, the prefix stripped from the
      labels); --ylim narrows the exact-match axis (default 0-100 %)

A runs directory holds <variant>/seed<k>/train_log.jsonl (run_experiment.py's runs_dir); a
results directory names its runs directory in runs_dir.txt.
"""
import argparse
import csv
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from runlog import validations  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PlotError(Exception):
    pass


def mean_std(values):
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


# ---------------------------------------------------------------------------------------------
# curves


def find_runs(path):
    """{variant: {seed label: train_log path}} under a runs or results directory."""
    pointer = os.path.join(path, "runs_dir.txt")
    if os.path.exists(pointer):
        with open(pointer) as f:
            runs_dir = f.read().strip()
        path = runs_dir if os.path.isabs(runs_dir) else os.path.join(REPO_ROOT, runs_dir)
    runs = {}
    for log in sorted(glob.glob(os.path.join(path, "*", "*", "train_log.jsonl"))):
        seed_dir = os.path.dirname(log)
        runs.setdefault(os.path.basename(os.path.dirname(seed_dir)), {})[
            os.path.basename(seed_dir)] = log
    if not runs:  # a directory of model directories: one line each
        for log in sorted(glob.glob(os.path.join(path, "*", "train_log.jsonl"))):
            runs[os.path.basename(os.path.dirname(log))] = {"": log}
    if not runs:
        raise PlotError(f"{path}: no train_log.jsonl in <variant>/seed<k>/ or <run>/")
    return runs


def plot_curves(args):
    runs = find_runs(args.path)
    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (variant, seeds) in enumerate(sorted(runs.items())):
        color, style = plt.cm.tab10.colors[i % 10], ["-", "--", ":", "-."][i // 10 % 4]
        curves = {seed: validations(log, args.metric) for seed, log in sorted(seeds.items())}
        curves = {s: c for s, c in curves.items() if c}
        if not curves:
            continue
        if args.per_seed or len(curves) == 1:
            for seed, points in curves.items():
                label = f"{variant} {seed}".strip()
                by_step.plot([p[0] for p in points], [p[2] for p in points], color=color,
                             linestyle=style, label=label, alpha=0.8)
                by_time.plot([p[1] for p in points], [p[2] for p in points], color=color,
                             linestyle=style, alpha=0.8)
            continue
        # Mean over seeds at the steps every seed validated.
        steps = sorted(set.intersection(*(set(p[0] for p in c) for c in curves.values())))
        at = {s: {p[0]: p for p in c} for s, c in curves.items()}
        values = [mean_std([at[s][step][2] for s in at])[0] for step in steps]
        times = [mean_std([at[s][step][1] for s in at])[0] for step in steps]
        by_step.plot(steps, values, color=color, linestyle=style,
                     label=f"{variant} ({len(curves)} seeds)")
        by_time.plot(times, values, color=color, linestyle=style)
    for axis, xlabel in ((by_step, "step"), (by_time, "training wall time (s)")):
        axis.set_xlabel(xlabel)
        axis.set_ylabel(f"dev {args.metric}")
        axis.grid(alpha=0.3)
    by_step.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)


# ---------------------------------------------------------------------------------------------
# attention


def run_translate(s2s, model, sources):
    with tempfile.TemporaryDirectory(prefix="s2s-attention-") as tmp:
        source_file = os.path.join(tmp, "src.txt")
        attention_file = os.path.join(tmp, "attention.jsonl")
        with open(source_file, "w") as f:
            f.write("\n".join(sources) + "\n")
        result = subprocess.run([s2s, "translate", "--model", model, "--input", source_file,
                                 "--output", os.devnull, "--attention-out", attention_file],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise PlotError((result.stderr.strip() or "s2s translate failed").splitlines()[-1])
        with open(attention_file) as f:
            return [json.loads(line) for line in f if line.strip()]


def draw_heatmap(axis, weights, source, output, title):
    axis.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axis.set_xticks(range(len(source)))
    axis.set_xticklabels(source, rotation=90 if max(map(len, source), default=1) > 2 else 0)
    axis.set_yticks(range(len(output)))
    axis.set_yticklabels(output)
    axis.set_xlabel("source")
    axis.set_ylabel("output")
    axis.set_title(title, fontsize="small")


def plot_attention(args):
    s2s = args.s2s if os.path.isabs(args.s2s) else os.path.join(REPO_ROOT, args.s2s)
    records = run_translate(s2s, args.model, args.src)
    if not records:
        raise PlotError("no output (empty sources?)")
    # Panels per example: the RNN's attention; or each head of the Transformer's last
    # cross-attention layer and their average.
    panels = []
    for r in records:
        if not r["output"]:
            raise PlotError(f"{' '.join(r['source'])}: the model produced no output")
        if not r["weights"][0]:
            raise PlotError(f"{args.model}: the model has no attention weights to draw")
        heads = r.get("heads", [])
        row = [(h, f"last layer, head {i + 1}") for i, h in enumerate(heads)]
        if heads:
            average = [[sum(h[t][s] for h in heads) / len(heads) for s in range(len(r["source"]))]
                       for t in range(len(r["output"]))]
            row.append((average, "last layer, average of heads"))
        else:
            row.append((r["weights"], "attention"))
        panels.append((r, row))
    columns = max(len(row) for _, row in panels)
    fig, axes = plt.subplots(len(panels), columns, squeeze=False,
                             figsize=(3.2 * columns + 1, 3.2 * len(panels) + 0.5))
    for i, (r, row) in enumerate(panels):
        for j in range(columns):
            if j >= len(row):
                axes[i][j].axis("off")
                continue
            weights, title = row[j]
            draw_heatmap(axes[i][j], weights, r["source"], r["output"],
                         f"{' '.join(r['source'])}: {title}")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)


# ---------------------------------------------------------------------------------------------
# by-length


def plot_by_length(args):
    rows = []
    if not args.inputs + args.runs:
        raise PlotError("give by_length.csv files or results directories")
    for path in args.inputs + args.runs:
        if os.path.isdir(path):
            path = os.path.join(path, "by_length.csv")
        if not os.path.exists(path):
            raise PlotError(f"{path}: no such file")
        with open(path) as f:
            rows += list(csv.DictReader(f))
    if not rows:
        raise PlotError("no rows in the by-length files")
    ylim = (-2, 102)
    if args.ylim:
        try:
            ylim = tuple(float(x) for x in args.ylim.split(","))
        except ValueError:
            ylim = ()
        if len(ylim) != 2 or ylim[0] >= ylim[1]:
            raise PlotError(f"--ylim {args.ylim}: expected LO,HI with LO < HI")
    buckets = list(dict.fromkeys(r["bucket"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    panels = args.panels or [""]
    for prefix in panels:
        if not any(v.startswith(prefix) for v in variants):
            raise PlotError(f"no variant starts with {prefix!r}")
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False,
                             sharey=True)
    for prefix, axis in zip(panels, axes[0]):
        draw_by_length(axis, rows, buckets, [v for v in variants if v.startswith(prefix)],
                       prefix, ylim)
        if prefix:
            axis.set_title(prefix.rstrip("-_ "))
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)


def draw_by_length(axis, rows, buckets, variants, prefix, ylim):
    for variant in variants:
        means, stds, xs = [], [], []
        for x, bucket in enumerate(buckets):
            values = [float(r["exact_match"]) for r in rows if r["variant"] == variant
                      and r["bucket"] == bucket and r["exact_match"] != ""]
            if values:
                mean, std = mean_std(values)
                xs.append(x)
                means.append(mean)
                stds.append(std)
        axis.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=variant[len(prefix):])
    counts = {r["bucket"]: r["n"] for r in rows}
    axis.set_xticks(range(len(buckets)))
    axis.set_xticklabels([f"{b}\n(n={counts[b]})" for b in buckets])
    axis.set_xlabel("source length (tokens)")
    axis.set_ylabel("exact match (%)")
    axis.set_ylim(*ylim)
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    curves = sub.add_parser("curves", help="dev metric against step and wall time")
    curves.add_argument("path", help="runs directory or results directory")
    curves.add_argument("--metric", default="acc", choices=["loss", "per", "wer", "acc",
                                                            "bleu", "chrf"])
    curves.add_argument("--per-seed", action="store_true", help="one line per run")
    curves.add_argument("--out", required=True)
    attention = sub.add_parser("attention", help="attention heatmaps of a trained model")
    attention.add_argument("--model", required=True, help="model directory")
    attention.add_argument("--src", action="append", required=True,
                           help="a source line (repeat for several examples)")
    attention.add_argument("--s2s", default="build/bin/s2s")
    attention.add_argument("--out", required=True)
    length = sub.add_parser("by-length", help="exact match by source-length bucket")
    length.add_argument("--panels", nargs="+", metavar="PREFIX",
                        help="one panel per variant-name prefix, side by side")
    length.add_argument("inputs", nargs="*", help="by_length.csv files or results directories")
    length.add_argument("--runs", nargs="+", default=[], help="the same, as an option")
    length.add_argument("--ylim", help="LO,HI of the exact-match axis (default: 0-100 %%)")
    length.add_argument("--out", required=True)
    args = parser.parse_args()
    try:
        {"curves": plot_curves, "attention": plot_attention,
         "by-length": plot_by_length}[args.command](args)
    except (PlotError, OSError, ValueError, KeyError) as e:
        print(f"plots {args.command}: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
