"""The pieces of experiments/run_experiment.py: spec (the spec file), runs (training and
resuming one run), tables (results.csv, by_length.csv, timings.csv, summary.md)."""
