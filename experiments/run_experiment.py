#!/usr/bin/python3
"""Runs an ablation spec with the s2s binary: every (variant, seed) is trained, evaluated on
test, and tabulated (issue 7).

  experiments/run_experiment.py --spec SPEC.ini [--jobs N] [--threads T] [--s2s PATH]
                                [--only VARIANT_GLOB] [--runs-dir DIR] [--results-dir DIR]
                                [--no-plots] [--dry-run]

The spec format and the outputs are described in experiments/README.md. Runs are resumable:
a finished run is skipped, an interrupted one continues from its last.ckpt. Python 3 standard
library only.
"""
import argparse
import concurrent.futures
import configparser
import csv
import datetime
import fnmatch
import io
import itertools
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT_KEYS = {"name", "base", "seeds", "runs_dir", "results_dir", "jobs", "threads",
                   "length_buckets", "description"}
RESERVED_KEYS = {"train.seed", "train.output_dir"}
# Keys that only change how long a run trains: a finished run whose settings differ from the
# spec only in these is continued (s2s train --resume) instead of refused.
BUDGET_KEYS = {"train.max_steps", "train.epochs"}


class SpecError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# The spec


def split_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def repo_path(path):
    """Spec paths are relative to the repository root."""
    return path if os.path.isabs(path) else os.path.join(REPO_ROOT, path)


def display_path(path):
    """A path as the commands show it: relative to the repository root when inside it."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, REPO_ROOT)
    return absolute if relative.startswith("..") else relative


def check_key(key, where):
    if not re.fullmatch(r"[a-z_]+\.[a-z_0-9]+", key):
        raise SpecError(f"{where}: '{key}' is not a config key of the form section.key")
    if key in RESERVED_KEYS:
        raise SpecError(f"{where}: {key} is set by the runner (seeds, runs_dir)")


def variant_name_part(value):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", value)


def parse_length_buckets(text):
    buckets = []
    for item in split_list(text):
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", item)
        if not m or int(m.group(1)) > int(m.group(2)):
            raise SpecError(f"length_buckets: '{item}' is not a range LO-HI")
        buckets.append((int(m.group(1)), int(m.group(2))))
    if not buckets:
        raise SpecError("length_buckets is empty")
    return buckets


def load_spec(path):
    if not os.path.isfile(path):
        raise SpecError(f"{path}: no such spec file")
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None)
    parser.optionxform = str
    try:
        parser.read(path)
    except configparser.Error as e:
        raise SpecError(f"{path}: {str(e).splitlines()[0]}")
    if "experiment" not in parser:
        raise SpecError(f"{path}: no [experiment] section")
    for section in parser.sections():
        if section not in ("experiment", "overrides", "grid") and not section.startswith("variant."):
            raise SpecError(f"{path}: unknown section [{section}]. Valid sections: [experiment], "
                            "[overrides], [grid], [variant.NAME]")
    exp = parser["experiment"]
    for key in exp:
        if key not in EXPERIMENT_KEYS:
            raise SpecError(f"{path}: unknown key '{key}' in [experiment]. Valid keys: "
                            + ", ".join(sorted(EXPERIMENT_KEYS)))
    for key in ("name", "base", "seeds", "runs_dir", "results_dir"):
        if not exp.get(key, "").strip():
            raise SpecError(f"{path}: [experiment] {key} is required")
    spec = {"path": path, "name": exp["name"].strip(), "base": exp["base"].strip(),
            "runs_dir": exp["runs_dir"].strip(), "results_dir": exp["results_dir"].strip()}
    try:
        spec["seeds"] = [int(s) for s in split_list(exp["seeds"])]
        spec["jobs"] = int(exp.get("jobs", "1"))
        spec["threads"] = int(exp.get("threads", "1"))
    except ValueError as e:
        raise SpecError(f"{path}: [experiment] {e}")
    if not spec["seeds"]:
        raise SpecError(f"{path}: [experiment] seeds is empty")
    if len(set(spec["seeds"])) != len(spec["seeds"]):
        raise SpecError(f"{path}: [experiment] seeds repeat")
    if not os.path.isfile(repo_path(spec["base"])):
        raise SpecError(f"{path}: base config {spec['base']} does not exist")
    spec["length_buckets"] = (parse_length_buckets(exp["length_buckets"])
                              if exp.get("length_buckets", "").strip() else None)

    overrides = {}
    if "overrides" in parser:
        for key, value in parser["overrides"].items():
            check_key(key, f"{path} [overrides]")
            overrides[key] = value.strip()

    variants = []  # (name, {key: value}) in spec order: the grid, then [variant.NAME] sections
    if "grid" in parser:
        grid = parser["grid"]
        if not grid:
            raise SpecError(f"{path}: [grid] is empty")
        axes = []
        for key, value in grid.items():
            check_key(key, f"{path} [grid]")
            values = split_list(value)
            if not values:
                raise SpecError(f"{path}: [grid] {key} has no values")
            axes.append([(key, v) for v in values])
        for combination in itertools.product(*axes):
            name = "-".join(variant_name_part(v) for _, v in combination)
            variants.append((name, dict(combination)))
    for section in parser.sections():
        if section.startswith("variant."):
            name = section[len("variant."):]
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                raise SpecError(f"{path}: [{section}]: a variant name takes letters, digits, _ . -")
            settings = {}
            for key, value in parser[section].items():
                check_key(key, f"{path} [{section}]")
                settings[key] = value.strip()
            variants.append((name, settings))
    if not variants:
        raise SpecError(f"{path}: no variants (give a [grid] or [variant.NAME] sections)")
    names = [n for n, _ in variants]
    for n in names:
        if names.count(n) > 1:
            raise SpecError(f"{path}: variant '{n}' is defined twice")
    spec["overrides"] = overrides
    spec["variants"] = variants
    # The columns of results.csv: every key a variant sets, in first-seen order.
    spec["varied_keys"] = list(dict.fromkeys(k for _, s in variants for k in s))
    return spec


# ---------------------------------------------------------------------------------------------
# Runs


class Run:
    def __init__(self, spec, s2s, runs_dir, variant, settings, seed):
        self.variant, self.seed = variant, seed
        self.dir = os.path.join(runs_dir, variant, f"seed{seed}")
        self.settings = dict(spec["overrides"])
        self.settings.update(settings)
        self.settings["train.seed"] = str(seed)
        self.s2s = s2s
        self.base = display_path(repo_path(spec["base"]))
        self.label = f"{variant}/seed{seed}"

    def key_args(self):
        args = []
        for key, value in self.settings.items():
            args += [f"--{key}", value]
        return args

    def train_command(self):
        return ([self.s2s, "train", "--config", self.base] + self.key_args()
                + ["--train.output_dir", display_path(self.dir), "--quiet"])

    def resume_command(self):
        return ([self.s2s, "train", "--resume", display_path(self.dir)] + self.key_args()
                + ["--quiet"])

    def file(self, name):
        return os.path.join(self.dir, name)

    def recorded_settings(self):
        try:
            with open(self.file("runner_settings.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def record_settings(self):
        os.makedirs(self.dir, exist_ok=True)
        with open(self.file("runner_settings.json"), "w") as f:
            json.dump({"base": self.base, "settings": self.settings}, f, indent=1, sort_keys=True)
            f.write("\n")

    def plan(self):
        """'done', 'train', 'resume', or raises RunError when the directory holds another run."""
        has_checkpoint = os.path.exists(self.file("last.ckpt"))
        if not has_checkpoint:
            return "train"
        recorded = self.recorded_settings()
        if recorded is None:
            raise RunError(f"{self.label}: {display_path(self.dir)} holds a model the runner did "
                           "not train; delete it or choose another runs_dir")
        wanted = {"base": self.base, "settings": self.settings}
        if recorded != wanted:
            differing = sorted(k for k in set(recorded["settings"]) | set(self.settings)
                               if recorded["settings"].get(k) != self.settings.get(k))
            if recorded["base"] != self.base or not set(differing) <= BUDGET_KEYS:
                raise RunError(f"{self.label}: {display_path(self.dir)} was trained with other "
                               f"settings ({', '.join(differing) or 'base'}); delete it or "
                               "choose another runs_dir")
            return "resume"
        return "done" if os.path.exists(self.file("test_metrics.json")) else "resume"


class RunError(Exception):
    pass


def last_line(path):
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
        return lines[-1] if lines else ""
    except OSError:
        return ""


def execute(run, command, env, log):
    log.write("$ " + shlex.join(command) + "\n")
    log.flush()
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    return result.returncode


def run_one(run, spec, threads):
    """Trains (or continues) one run and evaluates it; returns a status word."""
    action = run.plan()
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    log_path = run.file("run.log")
    if action != "done":
        os.makedirs(run.dir, exist_ok=True)
        for stale in ("test_metrics.json", "test_hyps.txt"):
            if os.path.exists(run.file(stale)):
                os.remove(run.file(stale))
        command = run.train_command() if action == "train" else run.resume_command()
        run.record_settings()  # before training, so that a killed run is recognised and resumed
        with open(log_path, "a") as log:
            code = execute(run, command, env, log)
        if code != 0:
            raise RunError(f"{run.label} failed (exit {code}): {last_line(log_path)}  "
                           f"[log: {display_path(log_path)}]")
        if not os.path.exists(run.file("test_metrics.json")):
            raise RunError(f"{run.label}: training wrote no test_metrics.json (is data.test "
                           f"set?)  [log: {display_path(log_path)}]")
    if spec["length_buckets"]:
        decode_test(run, env, log_path)
    return action


def read_model_config(run):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(run.file("config.ini"))
    return parser


def decode_test(run, env, log_path):
    """test_hyps.txt, the best checkpoint's test outputs, is written by s2s train; this makes
    it with s2s evaluate for runs trained by an s2s that did not."""
    hyps = run.file("test_hyps.txt")
    if os.path.exists(hyps):
        return
    config = read_model_config(run)
    command = [run.s2s, "evaluate", "--model", display_path(run.dir),
               "--src", config.get("data", "test")]
    if config.get("data", "test_tgt", fallback=""):
        command += ["--ref", config.get("data", "test_tgt")]
    command += ["--output", display_path(hyps + ".tmp")]
    with open(log_path, "a") as log:
        code = execute(run, command, env, log)
    if code != 0:
        raise RunError(f"{run.label}: s2s evaluate failed (exit {code}): {last_line(log_path)}  "
                       f"[log: {display_path(log_path)}]")
    os.replace(hyps + ".tmp", hyps)


# ---------------------------------------------------------------------------------------------
# Reading a finished run


def read_json_text(path):
    """JSON with numbers kept as the text s2s printed (so reruns compare byte for byte)."""
    with open(path) as f:
        return json.load(f, parse_float=str, parse_int=str)


def read_train_log(path):
    entries = []
    with open(path) as f:
        for line in f:
            if line.strip():
                entries.append(json.loads(line))
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
        return [(s, [t.split() for t in tgt.split("\t")]) for s, tgt in zip(lines, targets)]
    pairs = []
    for line in lines:
        fields = line.split("\t")
        pairs.append((fields[0], [t.split() for t in fields[1:]]))
    return pairs


def length_rows(run, buckets):
    config = read_model_config(run)
    tokenizer = config.get("data", "src_tokenizer", fallback="char")
    pairs = read_test_pairs(config)
    with open(run.file("test_hyps.txt"), encoding="utf-8") as f:
        hyps = f.read().splitlines()
    if len(hyps) != len(pairs):
        raise RunError(f"{run.label}: test_hyps.txt has {len(hyps)} lines, the test set "
                       f"{len(pairs)}")
    rows = []
    for lo, hi in buckets:
        n = correct = 0
        for (source, refs), hyp in zip(pairs, hyps):
            if lo <= source_length(source, tokenizer) <= hi:
                n += 1
                correct += hyp.split() in refs
        rows.append({"variant": run.variant, "seed": str(run.seed), "bucket": f"{lo}-{hi}",
                     "n": str(n), "exact_match": f"{100.0 * correct / n:.2f}" if n else ""})
    return rows


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


# ---------------------------------------------------------------------------------------------


def print_plan(runs):
    for run in runs:
        try:
            action = run.plan()
        except RunError as e:
            action = f"refused: {e}"
        print(f"{run.label}: {action}: {shlex.join(run.train_command())}")


def check_variants(runs):
    """Lets s2s check every variant's config (keys, values, data paths) before anything runs."""
    seen = set()
    for run in runs:
        if run.variant in seen:
            continue
        seen.add(run.variant)
        command = run.train_command()
        command[command.index("--quiet")] = "--check"
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            if "unrecognised option '--check'" in result.stderr:
                raise SpecError(f"{run.s2s} is older than this runner (no train --check): "
                                "rebuild it (scripts/build.sh)")
            message = (result.stderr.strip() or result.stdout.strip()).splitlines()
            raise SpecError(f"variant {run.variant}: {message[-1] if message else 'rejected'}")
    return len(seen)


def safe_plan(run):
    try:
        return run.plan()
    except RunError:
        return "refused"


def tabulate(spec, finished, results_dir, runs_dir, threads, s2s, no_plots):
    """Writes the result files of the finished runs; returns the runs it could not read."""
    os.makedirs(os.path.join(results_dir, "configs"), exist_ok=True)
    rows, timings, length, unreadable = [], [], [], []
    for run in finished:
        try:
            row, timing = collect(run, spec)
            run_length = length_rows(run, spec["length_buckets"]) if spec["length_buckets"] else []
        except (RunError, OSError, ValueError, KeyError) as e:
            unreadable.append(run)
            print(f"FAILED {run.label}: cannot read its results: {e}", flush=True)
            continue
        rows.append(row)
        timings.append(timing)
        length += run_length
    readable = [r for r in finished if r not in unreadable]
    copied = set()
    for run in readable:  # each variant's first finished seed
        if run.variant not in copied:
            copied.add(run.variant)
            shutil.copyfile(run.file("config.ini"),
                            os.path.join(results_dir, "configs", run.variant + ".ini"))
    if not rows:
        return unreadable
    write_csv(os.path.join(results_dir, "results.csv"), rows)
    write_csv(os.path.join(results_dir, "timings.csv"), timings)
    if length:
        write_csv(os.path.join(results_dir, "by_length.csv"), length)
    write_summary(os.path.join(results_dir, "summary.md"), spec, readable, rows, timings, length,
                  threads, s2s)
    with open(os.path.join(results_dir, "runs_dir.txt"), "w") as f:
        f.write(display_path(runs_dir) + "\n")  # for plots.py curves RESULTS_DIR
    print(f"results: {display_path(results_dir)}/results.csv, summary.md")
    if not no_plots:
        metric = read_model_config(readable[0]).get("train", "early_stopping_metric",
                                                    fallback="loss")
        make_plots(results_dir, runs_dir, metric, bool(length))
    return unreadable


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", required=True, help="experiment spec (experiments/README.md)")
    parser.add_argument("--jobs", type=int, help="parallel runs (default: the spec's jobs)")
    parser.add_argument("--threads", type=int,
                        help="OPENBLAS_NUM_THREADS of each run (default: the spec's threads)")
    parser.add_argument("--s2s", default="build/bin/s2s",
                        help="the s2s binary (relative to the repository root)")
    parser.add_argument("--only", help="only the variants whose name matches this glob")
    parser.add_argument("--runs-dir", help="model directories (default: the spec's runs_dir)")
    parser.add_argument("--results-dir", help="result files (default: the spec's results_dir)")
    parser.add_argument("--no-plots", action="store_true", help="draw no PNGs")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the runs and check their configs with s2s; train nothing")
    args = parser.parse_args()
    try:
        spec = load_spec(args.spec)
        s2s = display_path(repo_path(args.s2s))
        if not os.access(repo_path(s2s), os.X_OK):
            raise SpecError(f"{s2s}: no s2s binary (build it, or pass --s2s PATH)")
        jobs = args.jobs or spec["jobs"]
        threads = args.threads or spec["threads"]
        if jobs < 1 or threads < 1:
            raise SpecError("--jobs and --threads must be at least 1")
        runs_dir = repo_path(args.runs_dir or spec["runs_dir"])
        results_dir = repo_path(args.results_dir or spec["results_dir"])
        runs = [Run(spec, s2s, runs_dir, name, settings, seed)
                for name, settings in spec["variants"]
                if not args.only or fnmatch.fnmatch(name, args.only)
                for seed in spec["seeds"]]
        if not runs:
            raise SpecError(f"--only {args.only}: no variant matches")
        if args.dry_run:
            print_plan(runs)
        variants = check_variants(runs)
        if args.dry_run:
            print(f"{len(runs)} runs; s2s accepts the config of all {variants} variants")
            return 0
    except SpecError as e:
        print(f"run_experiment: {e}", file=sys.stderr)
        return 2

    print(f"{spec['name']}: {len(runs)} runs, {jobs} at a time, {threads} BLAS thread(s) each")
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_one, run, spec, threads): run for run in runs}
        for future in concurrent.futures.as_completed(futures):
            run = futures[future]
            try:
                action = future.result()
                print({"done": f"{run.label}: already finished",
                       "train": f"{run.label}: trained",
                       "resume": f"{run.label}: resumed and finished"}[action], flush=True)
            except (RunError, OSError, ValueError, KeyError) as e:
                failed.append(run)
                print(f"FAILED {e}", flush=True)

    # The tables cover every finished run of the spec, also those --only left out.
    all_runs = [Run(spec, s2s, runs_dir, name, settings, seed)
                for name, settings in spec["variants"] for seed in spec["seeds"]]
    finished = [r for r in all_runs
                if r.label not in {f.label for f in failed} and safe_plan(r) == "done"]
    if len(finished) < len(all_runs):
        print(f"tables: {len(finished)} of the spec's {len(all_runs)} runs are finished")
    if finished:
        failed += tabulate(spec, finished, results_dir, runs_dir, threads, s2s, args.no_plots)
    if failed:
        print(f"run_experiment: {len(failed)} of {len(runs)} runs failed", file=sys.stderr)
        return 1
    return 0


def make_plots(results_dir, runs_dir, metric, has_length):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("plots: matplotlib is not installed (apt-get install python3-matplotlib); skipped")
        return
    plots = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plots.py")
    if not os.path.exists(plots):
        return
    commands = [[sys.executable, plots, "curves", runs_dir, "--metric", metric,
                 "--out", os.path.join(results_dir, "curves.png")]]
    if has_length:
        commands.append([sys.executable, plots, "by-length", os.path.join(results_dir,
                         "by_length.csv"), "--out", os.path.join(results_dir, "by_length.png")])
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"plots: {(result.stderr.strip().splitlines() or ['failed'])[-1]}")


if __name__ == "__main__":
    sys.exit(main())
