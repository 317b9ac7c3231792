#!/usr/bin/env python3
"""Token accuracy of the copy-unseen runs by the kind of reference token.

A reference token is "in vocabulary" (in the run's tgt.vocab), "outside, seen" (in the
training data but cut from the vocabulary by data.max_vocab) or "unseen" (never in training).
A token counts as right when the hypothesis has the same token at the same position. Reads each
run's test_hyps.txt (in test order) and the test TSV it was scored on; writes
results/by_token_class.csv (mean and sample sd over seeds) and results/by_token_class.png.

  /usr/bin/python3 experiments/ablations/copy-unseen/by_token_class.py [RUNS_DIR]
"""
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CLASSES = ["in vocabulary", "outside, seen", "unseen"]


def config_value(config, key):
    section, name = key.split(".")
    current = None
    for line in config.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and "=" in line:
            k, v = (s.strip() for s in line.split("=", 1))
            if k == name:
                return v
    raise SystemExit(f"{config}: no {key}")


def tsv_pairs(path):
    return [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8")]


def run_accuracy(run):
    config = run / "config.ini"
    vocab = set((run / "tgt.vocab").read_text(encoding="utf-8").split("\n"))
    seen = set()
    for source, target in tsv_pairs(ROOT / config_value(config, "data.train")):
        seen.update(source.split())
        seen.update(target.split())
    test = tsv_pairs(ROOT / config_value(config, "data.test"))
    hyps = (run / "test_hyps.txt").read_text(encoding="utf-8").split("\n")[: len(test)]
    if len(hyps) != len(test):
        raise SystemExit(f"{run}: {len(hyps)} hypotheses for {len(test)} test lines")
    right, total = defaultdict(int), defaultdict(int)
    for (_, reference), hyp in zip(test, hyps):
        hyp_tokens = hyp.split()
        for i, token in enumerate(reference.split()):
            kind = CLASSES[0] if token in vocab else CLASSES[1] if token in seen else CLASSES[2]
            total[kind] += 1
            right[kind] += i < len(hyp_tokens) and hyp_tokens[i] == token
    return {c: 100.0 * right[c] / total[c] for c in CLASSES if total[c]}, dict(total)


def main():
    runs_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "runs/ablations/copy-unseen"
    rows, counts = [], {}
    for variant in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        per_seed = [run_accuracy(seed) for seed in sorted(variant.glob("seed*"))
                    if (seed / "test_hyps.txt").exists()]
        if not per_seed:
            continue
        row = {"variant": variant.name, "seeds": len(per_seed)}
        for c in CLASSES:
            values = [acc[c] for acc, _ in per_seed]
            row[c] = statistics.mean(values)
            row[c + " sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        counts[variant.name.split("-")[0]] = per_seed[0][1]
        rows.append(row)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    with open(out / "by_token_class.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["variant", "seeds"] + [h for c in CLASSES for h in (c, c + " sd")])
        for r in rows:
            writer.writerow([r["variant"], r["seeds"]] +
                            [f"{r[h]:.2f}" for c in CLASSES for h in (c, c + " sd")])
    print("reference tokens by class:", counts)
    for r in rows:
        print(r["variant"], " ".join(f"{c}: {r[c]:.2f} ± {r[c + ' sd']:.2f}" for c in CLASSES))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(CLASSES)
    for k, c in enumerate(CLASSES):
        ax.bar([i + k * width for i in range(len(rows))], [r[c] for r in rows], width,
               yerr=[r[c + " sd"] for r in rows], label=c)
    ax.set_xticks([i + width for i in range(len(rows))])
    ax.set_xticklabels([r["variant"] for r in rows], rotation=30, ha="right")
    ax.set_ylabel("test token accuracy (%)")
    ax.set_title("Copying tokens outside the vocabulary (3 seeds)")
    ax.set_ylim(0, 125)
    ax.legend(loc="upper center", ncol=len(CLASSES))
    fig.tight_layout()
    fig.savefig(out / "by_token_class.png", dpi=120)


if __name__ == "__main__":
    main()
