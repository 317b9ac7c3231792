"""One run = one (variant, seed): its model directory, its s2s command lines, and whether it is
to be trained, resumed or left alone."""
import configparser
import fcntl
import json
import os
import shlex
import subprocess

from runner.spec import BUDGET_KEYS, REPO_ROOT, display_path, repo_path


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
    """Trains (or continues) one run and evaluates it; returns a status word. A lock on
    DIR/runner.lock keeps two runners (two --only batches, say) off the same run."""
    os.makedirs(run.dir, exist_ok=True)
    with open(run.file("runner.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"{run.label}: another runner is working on {display_path(run.dir)}")
        return run_one_locked(run, spec, threads)


def run_one_locked(run, spec, threads):
    action = run.plan()
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    log_path = run.file("run.log")
    if action != "done":
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
