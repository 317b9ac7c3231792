"""A run's train_log.jsonl (one JSON object a line, see the README's Training log), read for the
experiment scripts: time_to_quality.py, plots.py and convergence.py."""
import json
from collections import namedtuple

# Metrics where a larger value is better; for loss, per and wer a smaller one is.
HIGHER_IS_BETTER = {"acc", "bleu", "chrf"}

Validation = namedtuple("Validation", "step elapsed_s value")


def entries(path):
    """The log's entries in order, blank lines skipped."""
    with open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def validations(path, metric):
    """The log's validations that report dev_<metric>, in order, as Validation(step, elapsed_s,
    value); elapsed_s is None in an entry without it."""
    key = "dev_" + metric
    return [Validation(int(e["step"]), float(e["elapsed_s"]) if "elapsed_s" in e else None,
                       float(e[key]))
            for e in entries(path) if key in e]
