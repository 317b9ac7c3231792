#!/usr/bin/python3
"""Runs an ablation spec with the s2s binary: every (variant, seed) is trained, evaluated on
test, and tabulated (issue 7).

  experiments/run_experiment.py --spec SPEC.ini [--jobs N] [--threads T] [--s2s PATH]
                                [--only GLOB[,GLOB...]] [--runs-dir DIR] [--results-dir DIR]
                                [--no-plots] [--dry-run]

The spec format and the outputs are described in experiments/README.md. Runs are resumable:
a finished run is skipped, an interrupted one continues from its last.ckpt. Python 3 standard
library only.
"""
import argparse
import concurrent.futures
import fnmatch
import os
import shlex
import shutil
import subprocess
import sys

from runner.runs import Run, RunError, read_model_config, run_one
from runner.spec import REPO_ROOT, SpecError, display_path, load_spec, repo_path
from runner.tables import collect, length_rows, write_csv, write_summary

# ---------------------------------------------------------------------------------------------


def print_plan(runs):
    for run in runs:
        try:
            action = run.plan()
        except RunError as e:
            print(f"{run.label}: refused: {e}")
            continue
        if action == "done":
            print(f"{run.label}: done")
            continue
        command = run.train_command() if action == "train" else run.resume_command()
        print(f"{run.label}: {action}: {shlex.join(command)}")


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
        make_plots(results_dir, runs_dir, metric, bool(length), spec["length_panels"])
    return unreadable


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", required=True, help="experiment spec (experiments/README.md)")
    parser.add_argument("--jobs", type=int, help="parallel runs (default: the spec's jobs)")
    parser.add_argument("--threads", type=int,
                        help="OPENBLAS_NUM_THREADS of each run (default: the spec's threads)")
    parser.add_argument("--s2s", default="build/bin/s2s",
                        help="the s2s binary (relative to the repository root)")
    parser.add_argument("--only", help="only the variants whose name matches one of these "
                        "comma-separated globs (each must match a variant)")
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
        names = [name for name, _ in spec["variants"]]
        globs = args.only.split(",") if args.only is not None else ["*"]
        for glob in globs:
            if not fnmatch.filter(names, glob):
                raise SpecError(f"--only {glob}: no variant matches (variants: "
                                f"{', '.join(names)})")
        runs = [Run(spec, s2s, runs_dir, name, settings, seed)
                for name, settings in spec["variants"]
                if any(fnmatch.fnmatch(name, glob) for glob in globs)
                for seed in spec["seeds"]]
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


def make_plots(results_dir, runs_dir, metric, has_length, panels=()):
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
                         "by_length.csv"), "--out", os.path.join(results_dir, "by_length.png")]
                        + (["--panels", *panels] if panels else []))
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"plots: {(result.stderr.strip().splitlines() or ['failed'])[-1]}")


if __name__ == "__main__":
    sys.exit(main())
