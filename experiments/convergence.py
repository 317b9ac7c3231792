#!/usr/bin/env python3
"""Has an ablation converged? For each variant of a runner's runs directory, how much its best
dev WER still improved over the last validations.

    experiments/convergence.py RUNS_DIR [--metric wer] [--last 3]

RUNS_DIR holds VARIANT/seedN/train_log.jsonl (experiments/run_experiment.py's layout). Prints a
Markdown table, one row per variant (seeds averaged): the validations each run made, its best dev
value, and by how much the best value improved over its last --last validations (0.00 = the
best was reached before them; lower is better for loss/per/wer, higher for acc/bleu/chrf), and
how many runs stopped early: finished with train.patience set before the train.epochs or
train.max_steps cap of the run's config.ini. Unfinished runs are marked. Exit 2 on a directory
without runs.
"""
import argparse
import configparser
import os
import statistics
import sys

from runlog import HIGHER_IS_BETTER, entries


def read_log(path, metric):
    """The dev values in order, and the last entry (its step and epoch)."""
    values, last = [], {}
    for last in entries(path):
        if "dev_" + metric in last:
            values.append(float(last["dev_" + metric]))
    return values, last


def stopped_early(run_dir, last):
    """A finished run stopped early when its config has a patience and it ended before its
    caps. The trainer ends a run only at a cap or on patience (the log does not say which)."""
    config = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    config.read(os.path.join(run_dir, "config.ini"))
    train = config["train"] if config.has_section("train") else {}
    patience = int(train.get("patience", "0"))
    epochs, max_steps = int(train.get("epochs", "0")), int(train.get("max_steps", "0"))
    at_cap = ((epochs > 0 and last.get("epoch", 0) >= epochs)
              or (max_steps > 0 and last.get("step", 0) >= max_steps))
    return patience > 0 and not at_cap


def best_so_far(values, higher):
    out, best = [], None
    for v in values:
        best = v if best is None else (max(best, v) if higher else min(best, v))
        out.append(best)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs_dir")
    parser.add_argument("--metric", default="wer")
    parser.add_argument("--last", type=int, default=3)
    args = parser.parse_args()
    higher = args.metric in HIGHER_IS_BETTER
    rows = []
    for variant in sorted(os.listdir(args.runs_dir)) if os.path.isdir(args.runs_dir) else []:
        vdir = os.path.join(args.runs_dir, variant)
        if not os.path.isdir(vdir):
            continue
        seeds = sorted(d for d in os.listdir(vdir) if d.startswith("seed"))
        runs = []
        for seed in seeds:
            log = os.path.join(vdir, seed, "train_log.jsonl")
            if not os.path.isfile(log):
                continue
            values, last = read_log(log, args.metric)
            if not values:
                continue
            finished = os.path.isfile(os.path.join(vdir, seed, "test_metrics.json"))
            stopped = finished and stopped_early(os.path.join(vdir, seed), last)
            best = best_so_far(values, higher)
            k = min(args.last, len(best) - 1)
            gain = abs(best[-1] - best[-1 - k]) if k > 0 else float("nan")
            runs.append((len(values), best[-1], gain, stopped, finished))
        if runs:
            rows.append((variant, runs))
    if not rows:
        print(f"convergence: no runs with validations under {args.runs_dir}", file=sys.stderr)
        return 2
    print(f"| variant | runs (finished) | validations | best dev {args.metric} | "
          f"improvement over the last {args.last} | stopped early |")
    print("|---|---|---|---|---|---|")
    for variant, runs in rows:
        gains = [r[2] for r in runs if r[0] > 1]
        gain = (f"{statistics.mean(gains):.2f} (max {max(gains):.2f})" if gains else "–")
        print(f"| {variant} | {len(runs)} ({sum(r[4] for r in runs)}) | "
              f"{min(r[0] for r in runs)}–{max(r[0] for r in runs)} | "
              f"{statistics.mean(r[1] for r in runs):.2f} | {gain} | "
              f"{sum(r[3] for r in runs)} of {len(runs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
