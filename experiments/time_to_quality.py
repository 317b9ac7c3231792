#!/usr/bin/env python3
"""Time to quality: the best dev metric a run had reached after given minutes of training.

    experiments/time_to_quality.py RUN_DIR_OR_LOG [--metric wer] [--minutes 5,15,30,60,120]

Reads train_log.jsonl (its validation lines: "elapsed_s" and "dev_<metric>") and prints a
Markdown table: for each budget, the best dev value of the validations done by then (lower is
better for loss/per/wer, higher for acc/bleu/chrf), the step and the time of that validation.
A budget longer than the run prints the run's last state with "(run ended at M min)".
Exit 2 on a missing file or a log without validations.
"""
import argparse
import os
import sys

from runlog import HIGHER_IS_BETTER, validations


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a model directory or its train_log.jsonl")
    parser.add_argument("--metric", default="wer")
    parser.add_argument("--minutes", default="5,15,30,60,120")
    args = parser.parse_args()
    path = args.run
    if os.path.isdir(path):
        path = os.path.join(path, "train_log.jsonl")
    if not os.path.isfile(path):
        print(f"time_to_quality: {path}: no such file", file=sys.stderr)
        return 2
    try:
        budgets = [float(m) for m in args.minutes.split(",")]
    except ValueError:
        print(f"time_to_quality: --minutes {args.minutes}: not a list of numbers", file=sys.stderr)
        return 2
    points = [v for v in validations(path, args.metric) if v.elapsed_s is not None]
    if not points:
        print(f"time_to_quality: {path}: no validation with dev_{args.metric}", file=sys.stderr)
        return 2
    better = max if args.metric in HIGHER_IS_BETTER else min
    end_minutes = points[-1].elapsed_s / 60
    print(f"| training time | best dev {args.metric.upper()} | at step | validated at |")
    print("|---:|---:|---:|---:|")
    for budget in budgets:
        done = [p for p in points if p.elapsed_s <= budget * 60]
        if not done:
            print(f"| {budget:g} min | (no validation yet) | | |")
            continue
        best = better(done, key=lambda p: p.value)
        note = f" (run ended at {end_minutes:.0f} min)" if budget > end_minutes else ""
        print(f"| {budget:g} min{note} | {best.value:.2f} | {best.step} | {best.elapsed_s / 60:.1f} min |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
