#!/usr/bin/python3
"""ctest experiment_runner: experiments/run_experiment.py on the tiny spec (issue 7).

  tests/test_experiment_runner.py --s2s BUILD/bin/s2s

- the same spec and seeds, run twice into two directories, give byte-identical results.csv
  and by_length.csv, with one row per (variant, seed) and every metric filled in;
- an interrupted run is continued: a run that lost its test_metrics.json is finished again, and
  runs trained to 150 steps and then continued to 300 reproduce the uninterrupted results.csv;
- --only runs a subset (a comma-separated list of globs; one that matches nothing is refused),
  and the tables cover every finished run;
- bad specs fail with one line on stderr and a non-zero exit;
- experiments/time_to_quality.py reads a run's log: the best dev WER within a time budget;
- experiments/by_length.py gives a model directory the by_length.csv rows the runner wrote, also
  when its config names the references in data.test_tgt beside a TSV test file;
- experiments/convergence.py counts a run as stopped early only when it has a patience and ended
  before its step or epoch cap.
Exits non-zero with a message on the first failure.
"""
import argparse
import configparser
import csv
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(REPO_ROOT, "experiments", "run_experiment.py")
TINY_SPEC = os.path.join(REPO_ROOT, "experiments", "tiny", "spec.ini")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def runner(s2s, spec, work, *extra):
    command = [sys.executable, RUNNER, "--spec", spec, "--s2s", s2s, "--jobs", "2",
               "--runs-dir", os.path.join(work, "runs"),
               "--results-dir", os.path.join(work, "results"), *extra]
    return subprocess.run(command, capture_output=True, text=True)


def run_ok(s2s, spec, work, *extra):
    result = runner(s2s, spec, work, *extra)
    if result.returncode != 0:
        fail(f"runner exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write_spec(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def tiny_spec_text(max_steps=300):
    with open(TINY_SPEC) as f:
        text = f.read()
    return text.replace("train.max_steps = 300", f"train.max_steps = {max_steps}")


def check_results(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    keys = [(r["variant"], r["seed"]) for r in rows]
    expected = [("none", "1"), ("none", "2"), ("dot", "1"), ("dot", "2")]
    if keys != expected:
        fail(f"results.csv rows {keys}, expected {expected}")
    for r in rows:
        for column in ("model.attention", "params", "test_per", "test_wer", "test_acc",
                       "test_bleu", "steps", "best_step"):
            if r.get(column, "") == "":
                fail(f"results.csv: {r['variant']} seed {r['seed']} has no {column}")
        if r["steps"] != "300" or r["model.attention"] != r["variant"]:
            fail(f"results.csv: unexpected row {r}")
    if rows[0]["params"] == rows[2]["params"]:
        fail("results.csv: none and dot attention report the same parameter count")
    return rows


def check_by_length(path, rows):
    with open(path) as f:
        buckets = list(csv.DictReader(f))
    if len(buckets) != 3 * len(rows):
        fail(f"by_length.csv has {len(buckets)} rows, expected {3 * len(rows)}")
    # The buckets 1-3, 4-5, 6-7 cover the whole test set: their weighted exact match is the
    # test accuracy s2s computed.
    for r in rows:
        mine = [b for b in buckets if (b["variant"], b["seed"]) == (r["variant"], r["seed"])]
        n = sum(int(b["n"]) for b in mine)
        correct = sum(int(b["n"]) * float(b["exact_match"] or 0) / 100 for b in mine)
        if n != 16 or abs(100 * correct / n - float(r["test_acc"])) > 0.01:
            fail(f"by_length.csv of {r['variant']} seed {r['seed']} does not add up to "
                 f"test_acc {r['test_acc']} ({correct} of {n})")


def check_by_length_script(run_dir, runner_csv, tmp):
    script = os.path.join(REPO_ROOT, "experiments", "by_length.py")
    with open(runner_csv) as f:
        expected = [r for r in csv.DictReader(f) if (r["variant"], r["seed"]) == ("dot", "1")]

    def rows_of(model_dir):
        result = subprocess.run([sys.executable, script, model_dir, "--buckets", "1-3,4-5,6-7"],
                                capture_output=True, text=True)
        if result.returncode != 0:
            fail(f"by_length.py {model_dir}: exit {result.returncode}: {result.stderr}")
        return [{**r, "variant": "dot"} for r in csv.DictReader(io.StringIO(result.stdout))]

    if rows_of(run_dir) != expected:
        fail(f"by_length.py {run_dir} differs from the runner's by_length.csv rows {expected}")
    # The same model with its references in data.test_tgt: the TSV's first column is the source.
    moved = os.path.join(tmp, "by-length-model")
    os.makedirs(moved)
    shutil.copy(os.path.join(run_dir, "test_hyps.txt"), moved)
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str
    config.read(os.path.join(run_dir, "config.ini"))
    test = os.path.join(REPO_ROOT, config.get("data", "test"))
    with open(test) as f, open(os.path.join(moved, "test.ref"), "w") as refs:
        refs.writelines(line.split("\t", 1)[1] for line in f)
    config.set("data", "test", test)
    config.set("data", "test_tgt", os.path.join(moved, "test.ref"))
    with open(os.path.join(moved, "config.ini"), "w") as f:
        config.write(f)
    if rows_of(moved) != expected:
        fail("by_length.py with data.test_tgt counts other source lengths than without")
    missing = subprocess.run([sys.executable, script, tmp, "--buckets", "1-3"],
                             capture_output=True, text=True)
    if missing.returncode != 2 or len(missing.stderr.splitlines()) != 1:
        fail(f"by_length.py on a directory without a model: exit {missing.returncode}")


def check_bad_spec(s2s, work, name, text, expected):
    spec = write_spec(work, name, text) if text is not None else os.path.join(work, name)
    result = runner(s2s, spec, os.path.join(work, "bad"), "--dry-run")
    lines = result.stderr.strip().splitlines()
    if result.returncode == 0 or len(lines) != 1 or expected not in lines[0]:
        fail(f"{name}: expected a one-line error with '{expected}', got exit "
             f"{result.returncode} and stderr {result.stderr!r}")


def check_convergence(runs_dir, tmp):
    """The tiny runs end at their max_steps cap. Given patience 3, a copy that reached its cap
    did not stop early, and one whose cap lies beyond its last step did; a stray file beside
    the variants is skipped."""
    script = os.path.join(REPO_ROOT, "experiments", "convergence.py")
    conv = os.path.join(tmp, "convergence")
    shutil.copytree(os.path.join(runs_dir, "dot"), os.path.join(conv, "dot"))
    with open(os.path.join(conv, "README.md"), "w") as f:
        f.write("not a variant\n")
    for seed, max_steps in (("seed1", None), ("seed2", "100000")):
        config = os.path.join(conv, "dot", seed, "config.ini")
        text = re.sub(r"(?m)^patience = .*$", "patience = 3", read(config).decode())
        if max_steps:
            text = re.sub(r"(?m)^max_steps = .*$", f"max_steps = {max_steps}", text)
        with open(config, "w") as f:
            f.write(text)
    table = subprocess.run([sys.executable, script, conv], capture_output=True, text=True)
    row = [line for line in table.stdout.splitlines() if line.startswith("| dot |")]
    if table.returncode != 0 or not row or not row[0].endswith("| 1 of 2 |"):
        fail(f"convergence.py: expected 1 of 2 runs stopped early:\n{table.stdout}{table.stderr}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--s2s", required=True)
    s2s = os.path.abspath(parser.parse_args().s2s)
    with tempfile.TemporaryDirectory(prefix="s2s-runner-") as tmp:
        work = {k: os.path.join(tmp, k) for k in ("a", "b", "c")}

        # Reproducibility (and the plots, drawn once, when matplotlib is installed).
        run_ok(s2s, TINY_SPEC, work["a"])
        run_ok(s2s, TINY_SPEC, work["b"], "--no-plots")
        results_a = os.path.join(work["a"], "results", "results.csv")
        for name in ("results.csv", "by_length.csv"):
            if read(os.path.join(work["a"], "results", name)) != \
                    read(os.path.join(work["b"], "results", name)):
                fail(f"{name} differs between two runs of the same spec")
        rows = check_results(results_a)
        check_by_length(os.path.join(work["a"], "results", "by_length.csv"), rows)
        expected = ["summary.md", "timings.csv", "configs/none.ini", "configs/dot.ini"]
        if importlib.util.find_spec("matplotlib") is not None:
            expected += ["curves.png", "by_length.png"]
        for name in expected:
            if not os.path.exists(os.path.join(work["a"], "results", name)):
                fail(f"no {name} in the results directory")

        # Time to quality: with a budget past the run's end, the run's best dev WER.
        run_dir = os.path.join(work["a"], "runs", "dot", "seed1")
        script = os.path.join(REPO_ROOT, "experiments", "time_to_quality.py")
        table = subprocess.run([sys.executable, script, run_dir, "--minutes", "1000"],
                               capture_output=True, text=True)
        wers = [float(e["dev_wer"]) for e in map(json.loads, open(
            os.path.join(run_dir, "train_log.jsonl"))) if "dev_wer" in e]
        if table.returncode != 0 or f"| {min(wers):.2f} |" not in table.stdout:
            fail(f"time_to_quality.py: best dev WER {min(wers):.2f} not in:\n{table.stdout}"
                 f"{table.stderr}")
        missing = subprocess.run([sys.executable, script, os.path.join(tmp, "nothing")],
                                 capture_output=True, text=True)
        if missing.returncode != 2 or "no such file" not in missing.stderr:
            fail(f"time_to_quality.py on a missing run: exit {missing.returncode}")

        check_convergence(os.path.join(work["a"], "runs"), tmp)
        check_by_length_script(run_dir, os.path.join(work["a"], "results", "by_length.csv"), tmp)

        # A finished rerun trains nothing; a run that lost its final metrics is finished again.
        os.remove(os.path.join(work["a"], "runs", "dot", "seed2", "test_metrics.json"))
        out = run_ok(s2s, TINY_SPEC, work["a"], "--no-plots").stdout
        if out.count("already finished") != 3 or "dot/seed2: resumed" not in out:
            fail(f"rerun after deleting one test_metrics.json:\n{out}")
        if read(results_a) != read(os.path.join(work["b"], "results", "results.csv")):
            fail("results.csv changed after resuming a run")

        # Training to 150 steps, then continuing to 300, gives the uninterrupted results.
        run_ok(s2s, write_spec(tmp, "spec150.ini", tiny_spec_text(150)), work["c"], "--no-plots")
        out = run_ok(s2s, write_spec(tmp, "spec300.ini", tiny_spec_text(300)), work["c"],
                     "--no-plots").stdout
        if out.count("resumed") != 4:
            fail(f"raising train.max_steps did not resume the 4 runs:\n{out}")
        if read(os.path.join(work["c"], "results", "results.csv")) != read(results_a):
            fail("results.csv of runs resumed from step 150 differs from uninterrupted runs")

        # --only runs a subset; the tables cover every finished run of the spec.
        work["d"] = os.path.join(tmp, "d")
        out = run_ok(s2s, TINY_SPEC, work["d"], "--only", "d*", "--no-plots").stdout
        with open(os.path.join(work["d"], "results", "results.csv")) as f:
            variants = [r["variant"] for r in csv.DictReader(f)]
        if variants != ["dot", "dot"] or "2 of the spec's 4 runs are finished" not in out:
            fail(f"--only d*: results.csv variants {variants}, output:\n{out}")
        run_ok(s2s, TINY_SPEC, work["d"], "--no-plots")
        if read(os.path.join(work["d"], "results", "results.csv")) != read(results_a):
            fail("results.csv of runs made in two --only batches differs")
        # A comma-separated list selects the union; a glob that matches nothing is refused.
        out = run_ok(s2s, TINY_SPEC, work["d"], "--only", "no*,d*", "--no-plots").stdout
        if out.count("already finished") != 4:
            fail(f"--only no*,d*: expected the 4 runs of both variants, output:\n{out}")
        result = runner(s2s, TINY_SPEC, work["d"], "--only", "dot,dott", "--no-plots")
        if result.returncode != 2 or "--only dott: no variant matches" not in result.stderr:
            fail(f"--only dot,dott: exit {result.returncode}, stderr:\n{result.stderr}")

        # Bad specs.
        good = tiny_spec_text()
        check_bad_spec(s2s, tmp, "missing.ini", None, "no such spec file")
        check_bad_spec(s2s, tmp, "section.ini", good + "\n[grids]\nmodel.cell = gru\n",
                       "unknown section [grids]")
        check_bad_spec(s2s, tmp, "empty.ini", good.replace("model.attention = none, dot", ""),
                       "[grid] is empty")
        check_bad_spec(s2s, tmp, "key.ini", good + "\n[variant.bad]\nmodel.celll = gru\n",
                       "variant bad")
        check_bad_spec(s2s, tmp, "value.ini", good + "\n[variant.bad]\nmodel.cell = rnn\n",
                       "variant bad")
    print("experiment runner: reproducible, resumable, bad specs rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
