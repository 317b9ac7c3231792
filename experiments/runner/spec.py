"""The experiment spec (experiments/README.md): an INI file naming a base s2s config, a grid of
config overrides, extra variants and seeds. load_spec() checks it and lists the variants."""
import configparser
import itertools
import os
import re

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPERIMENT_KEYS = {"name", "base", "seeds", "runs_dir", "results_dir", "jobs", "threads",
                   "length_buckets", "length_panels", "description"}
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
    # by_length.png with one panel per variant-name prefix (plots.py by-length --panels).
    spec["length_panels"] = [p.strip() for p in exp.get("length_panels", "").split(",")
                             if p.strip()]
    if spec["length_panels"] and not spec["length_buckets"]:
        raise SpecError(f"{path}: [experiment] length_panels needs length_buckets")

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
