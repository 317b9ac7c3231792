"""The result files of finished runs: results.csv and by_length.csv (nothing in them varies
between identical reruns), timings.csv, summary.md (means ± std over seeds, provenance)."""
import csv
import datetime
import io
import json
import math
import os
import platform
import shlex
import subprocess

from runner.runs import RunError, read_model_config
from runner.spec import REPO_ROOT, display_path, repo_path

# ---------------------------------------------------------------------------------------------
# Reading a finished run


def read_json_text(path):
    """JSON with numbers kept as the text s2s printed (so reruns compare byte for byte)."""
    with open(path) as f:
        return json.load(f, parse_float=str, parse_int=str)


def read_train_log(path):
    """The log's step entries (the first line, the run's provenance, has no "step")."""
    entries = []
    with open(path) as f:
        for line in f:
            if line.strip():
                entry = json.loads(line)
                if "step" in entry:
                    entries.append(entry)
    return entries


def best_step(log, metric):
    """The step whose validation was best by train.early_stopping_metric (first on ties, as
    the trainer keeps the first best)."""
    higher_is_better = metric in ("acc", "bleu", "chrf")
    field = "dev_loss" if metric == "loss" else "dev_" + metric
    best = None
    for e in log:
        if field not in e:
            continue
        value = -e[field] if higher_is_better else e[field]
        if best is None or value < best[0]:
            best = (value, e["step"])
    return "" if best is None else str(best[1])


def source_length(source, tokenizer):
    if tokenizer == "space":
        return len(source.split())
    if tokenizer == "char":
        return len(source)
    raise RunError(f"length_buckets needs data.src_tokenizer char or space, not {tokenizer}")


def read_test_pairs(config):
    """(source, [reference alternatives as token lists]) per test line."""
    test = repo_path(config.get("data", "test"))
    test_tgt = config.get("data", "test_tgt", fallback="")
    with open(test, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if test_tgt:
        with open(repo_path(test_tgt), encoding="utf-8") as f:
            targets = f.read().splitlines()
        # The test file may still be a TSV with targets: its first column is the source.
        return [(s.split("\t")[0], [t.split() for t in tgt.split("\t")])
                for s, tgt in zip(lines, targets)]
    pairs = []
    for line in lines:
        fields = line.split("\t")
        pairs.append((fields[0], [t.split() for t in fields[1:]]))
    return pairs


def exact_match_by_length(pairs, hyps, tokenizer, buckets):
    """(bucket "LO-HI", sources in it, exact match in % or "") per bucket: a hypothesis is
    right when it equals one of its line's reference alternatives."""
    rows = []
    for lo, hi in buckets:
        n = correct = 0
        for (source, refs), hyp in zip(pairs, hyps):
            if lo <= source_length(source, tokenizer) <= hi:
                n += 1
                correct += hyp.split() in refs
        rows.append((f"{lo}-{hi}", n, f"{100.0 * correct / n:.2f}" if n else ""))
    return rows


def length_rows_of(config, hyps_path, label, buckets):
    """by_length.csv rows of one model: its config.ini's test set and src_tokenizer against the
    test hypotheses in hyps_path."""
    tokenizer = config.get("data", "src_tokenizer", fallback="char")
    pairs = read_test_pairs(config)
    with open(hyps_path, encoding="utf-8") as f:
        hyps = f.read().splitlines()
    if len(hyps) != len(pairs):
        raise RunError(f"{label}: {os.path.basename(hyps_path)} has {len(hyps)} lines, the test "
                       f"set {len(pairs)}")
    return [{"bucket": bucket, "n": str(n), "exact_match": match}
            for bucket, n, match in exact_match_by_length(pairs, hyps, tokenizer, buckets)]


def length_rows(run, buckets):
    rows = length_rows_of(read_model_config(run), run.file("test_hyps.txt"), run.label, buckets)
    return [{"variant": run.variant, "seed": str(run.seed), **row} for row in rows]


def collect(run, spec):
    """The results.csv row and the timings.csv row of a finished run."""
    metrics = read_json_text(run.file("test_metrics.json"))
    config = read_model_config(run)
    log = read_train_log(run.file("train_log.jsonl"))
    try:
        with open(run.file("model.json")) as f:
            parameters = json.load(f)["parameters"]
    except OSError:  # trained by an s2s older than model.json
        parameters = ""
    row = {"variant": run.variant}
    for key in spec["varied_keys"]:
        section, name = key.split(".", 1)
        row[key] = config.get(section, name, fallback=run.settings.get(key, ""))
    row["seed"] = str(run.seed)
    row["params"] = str(parameters)
    for name, value in metrics.items():
        row["test_" + name] = value
    row["steps"] = str(log[-1]["step"]) if log else ""
    row["best_step"] = best_step(log, config.get("train", "early_stopping_metric",
                                                 fallback="loss"))
    rates = [e["tokens_per_s"] for e in log if e.get("tokens_per_s", 0) > 0]
    timing = {"variant": run.variant, "seed": str(run.seed),
              "train_s": f"{log[-1]['elapsed_s']:.1f}" if log else "",
              "tokens_per_s": f"{sum(rates) / len(rates):.0f}" if rates else ""}
    return row, timing


def write_csv(path, rows):
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with open(path, "w") as f:
        f.write(buffer.getvalue())


# ---------------------------------------------------------------------------------------------
# summary.md


def mean_std(values, form="{:.2f}"):
    """'mean ± sample std' of the non-empty values ('mean' alone for one value)."""
    values = [float(v) for v in values if v != ""]
    if not values:
        return ""
    mean = sum(values) / len(values)
    if len(values) == 1:
        return form.format(mean)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return form.format(mean) + " ± " + form.format(std)


def command_output(command, env=None):
    try:
        return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                              check=True, env=env).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_summary(path, spec, runs, rows, timings, length, threads, s2s):
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    # G2P's rates first, then the rest in test_metrics.json's order.
    metric_columns = [c for c in rows[0] if c.startswith("test_") and c != "test_segments"]
    first = ["test_per", "test_wer", "test_acc"]
    metric_columns = ([c for c in first if c in metric_columns]
                      + [c for c in metric_columns if c not in first])
    out = [f"# {spec['name']}\n", f"Spec: `{display_path(spec['path'])}`, base config "
           f"`{spec['base']}`, seeds {', '.join(map(str, spec['seeds']))}. "
           "Mean ± sample standard deviation over seeds.\n"]
    header = ["variant", "seeds", "params"] + [c[len("test_"):] for c in metric_columns] + [
        "best step", "train s"]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    for v in variants:
        vr = [r for r in rows if r["variant"] == v]
        vt = [t for t in timings if t["variant"] == v]
        cells = [v, str(len(vr)), vr[0]["params"]]
        cells += [mean_std([r[c] for r in vr]) for c in metric_columns]
        cells += [mean_std([r["best_step"] for r in vr], "{:.0f}").split(" ")[0],
                  mean_std([t["train_s"] for t in vt], "{:.1f}").split(" ")[0]]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Variants (on top of the base config and [overrides] "
            + (", ".join(f"{k} = {v}" for k, v in spec["overrides"].items()) or "(none)") + "):",
            ""]
    for name, settings in spec["variants"]:
        if name in variants:
            out.append(f"- {name}: " + (", ".join(f"{k} = {v}" for k, v in settings.items())
                                        or "the base config"))
    if length:
        buckets = list(dict.fromkeys(r["bucket"] for r in length))
        out += ["", "Exact match (%) by source length (tokens), mean over seeds:", ""]
        out.append("| variant | " + " | ".join(buckets) + " |")
        out.append("|---|" + "---|" * len(buckets))
        counts = {r["bucket"]: r["n"] for r in length}
        out.append("| n | " + " | ".join(counts[b] for b in buckets) + " |")
        for v in variants:
            cells = [mean_std([r["exact_match"] for r in length
                               if r["variant"] == v and r["bucket"] == b]) for b in buckets]
            out.append(f"| {v} | " + " | ".join(cells) + " |")
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no"])
    version = command_output([s2s, "--version"], dict(
        os.environ, OPENBLAS_NUM_THREADS=str(threads))).replace("\n", "; ")
    out += ["", "## Provenance", "",
            f"- commit: {command_output(['git', 'rev-parse', 'HEAD'])}"
            + (" (working tree has uncommitted changes)" if dirty not in ("", "unknown") else ""),
            f"- s2s: {version}; OPENBLAS_NUM_THREADS={threads} per run",
            f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
            f"- machine: {os.cpu_count()} cores (nproc), {cpu_model()}",
            "- configs: the merged config.ini of each variant's first seed is in `configs/`",
            "- per-run training time and speed: `timings.csv`", "",
            "## Commands (run from the repository root)", "",
            "Each run as first started; an interrupted run was continued with "
            "`s2s train --resume DIR` and the same `--section.key` overrides.", "", "```"]
    for run in runs:
        out.append(shlex.join(run.train_command()))
    out.append("```")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
