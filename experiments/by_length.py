#!/usr/bin/env python3
"""Exact match by source length of trained models: a by_length.csv for plots.py by-length.

    experiments/by_length.py DIR [DIR ...] --buckets 1-4,5-6,7-8,9-10,11-40 [--config FILE]
                             [--out FILE]

Each DIR is a model directory or a results directory (experiments/g2p/results/NAME) that holds
test_hyps.txt and config.ini (or, for a directory without one such as an ensemble's, --config
names the config to read). Its test set and source tokenizer (char or space) come from the
config, its variant is the directory's name and its seed train.seed (empty with --config). A
hypothesis is right when it equals one of its line's reference alternatives, so on G2P a
bucket's exact match is 100 % minus its WER. The rows are those experiments/run_experiment.py
writes for a spec's length_buckets. Writes the CSV to --out (default: standard output). Exit 2 with one line on a
missing file, bad buckets or a test_hyps.txt whose line count is not the test set's.
"""
import argparse
import configparser
import csv
import os
import sys

from runner.runs import RunError
from runner.spec import SpecError, parse_length_buckets
from runner.tables import length_rows_of


class Model:
    def __init__(self, path, fallback_config):
        self.dir = path.rstrip("/")
        config = os.path.join(self.dir, "config.ini")
        if not os.path.isfile(config):
            if not fallback_config:
                raise RunError(f"{self.dir}: no config.ini (give one with --config)")
            config = fallback_config
        for name in (config, os.path.join(self.dir, "test_hyps.txt")):
            if not os.path.isfile(name):
                raise RunError(f"{name}: no such file")
        self.config = configparser.ConfigParser(interpolation=None)
        self.config.optionxform = str
        self.config.read(config)
        self.variant = os.path.basename(self.dir)
        # A borrowed config's seed is not this model's.
        self.seed = self.config.get("train", "seed", fallback="1") if config != fallback_config \
            else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", help="model or results directories")
    parser.add_argument("--buckets", required=True,
                        help="source-length ranges LO-HI, comma-separated")
    parser.add_argument("--config", help="the config of directories without a config.ini")
    parser.add_argument("--out", help="CSV file (default: standard output)")
    args = parser.parse_args()
    try:
        buckets = parse_length_buckets(args.buckets)
        rows = []
        for path in args.dirs:
            model = Model(path, args.config)
            for row in length_rows_of(model.config, os.path.join(model.dir, "test_hyps.txt"),
                                      model.dir, buckets):
                rows.append({"variant": model.variant, "seed": model.seed, **row})
    except (RunError, SpecError, OSError) as e:
        print(f"by_length: {e}", file=sys.stderr)
        return 2
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if args.out:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
