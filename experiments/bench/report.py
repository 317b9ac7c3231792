"""Turns the JSON lines of one experiments/bench/run.sh run into the Markdown report.

  python3 report.py RAW.jsonl > results/DATE.md

Lines come from bench_sgemm, bench_train and bench_torch.py ("side": "s2s" | "torch"), plus the
run's own {"event": "header", ...} line. For every model and metric each side's best thread
setting is kept (highest rate; the peak RSS and GFLOP/s of the run with the best training rate)
and named in the table. A setting is how a side used its threads: s2s "N BLAS" (OpenBLAS
threads) or "N workers" (its own threads, single-threaded BLAS each); PyTorch "A ATen + B BLAS"
(torch.set_num_threads and OpenBLAS threads). "threads" is the number of cores a setting keeps
busy, which picks the sgemm peak it is compared with.
Records carry a "precision" (fp32 when absent, as in older raw files): the main tables compare
fp32 with fp32; the bf16 table sets each side's bf16 rate (s2s --precision bf16, PyTorch under
torch.autocast bfloat16) against PyTorch's fp32 and PyTorch's bf16.
"""
import collections
import json
import sys

SIDES = ("s2s", "torch")
MODELS = ("gru-bahdanau", "lstm-luong", "transformer")


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def fmt(value, digits=0):
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}"


def setting(r):
    """How a run used its threads (older raw files have only a thread count)."""
    return r.get("setting", f"{r['threads']} threads")


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "–"


class Results:
    def __init__(self, records, precision="fp32"):
        self.header = next((r for r in records if r.get("event") == "header"), {})
        self.sgemm = {r["threads"]: r for r in records if r.get("metric") == "sgemm_gflops"}
        self.unavailable = {r["model"]: r["reason"] for r in records
                            if r.get("event") == "unavailable"}
        self.reference_len = {r["model"]: r.get("mean_target_len") for r in records
                              if r.get("event") == "exported" and "-len" not in r["dir"]}
        # (suite, side, model) -> list of measurement records; suite = the export directory's kind
        self.runs = collections.defaultdict(list)
        for r in records:
            if "metric" in r and "model" in r and r.get("precision", "fp32") == precision:
                self.runs[(r["suite"], r["side"], r["model"])].append(r)

    def records(self, suite, side, model, metric, **match):
        return [r for r in self.runs[(suite, side, model)] if r["metric"] == metric
                and all(r.get(k) == v for k, v in match.items())]

    def best(self, suite, side, model, metric, **match):
        found = self.records(suite, side, model, metric, **match)
        return max(found, key=lambda r: r["value"]) if found else None

    def at_setting(self, suite, side, model, metric, run):
        found = [r for r in self.records(suite, side, model, metric) if setting(r) == setting(run)]
        return found[0] if found else None

    def peak(self, threads):
        return self.sgemm[threads]["value"] if threads in self.sgemm else None


def main_table(res, out):
    out.append("| model | metric | s2s | PyTorch | ratio s2s/PyTorch | best setting (s2s / PyTorch) |")
    out.append("|---|---|---:|---:|---:|---|")
    notes = []
    for model in MODELS:
        if model in res.unavailable:
            out.append(f"| {model} | not available | {res.unavailable[model]} | | | |")
            continue
        if not res.runs[("file", "s2s", model)]:
            continue

        def row(metric_name, s, t, digits=0, show_ratio=True, threads=True):
            sv = s["value"] if isinstance(s, dict) else s
            tv = t["value"] if isinstance(t, dict) else t
            th = (f"{setting(s)} / {setting(t)}" if threads and isinstance(s, dict)
                  and isinstance(t, dict) else "")
            out.append(f"| {model} | {metric_name} | {fmt(sv, digits)} | {fmt(tv, digits)} | "
                       f"{ratio(sv, tv) if show_ratio else ''} | {th} |")

        get = lambda side, metric, **m: res.best("file", side, model, metric, **m)
        ps, pt = get("s2s", "parameters"), get("torch", "parameters")
        same = ps and pt and ps["value"] == pt["value"]
        row("parameters" + ("" if same else " **MISMATCH**"), ps, pt, show_ratio=False,
            threads=False)
        ls, lt = get("s2s", "check_loss"), get("torch", "check_loss")
        if ls and lt:
            loaded = lt.get("weights") == "s2s"
            diff = abs(ls["value"] - lt["value"])
            verdict = ("same weights, difference %.1e%s" % (diff, "" if diff < 1e-4 * ls["value"]
                                                        else " **DIFFERENT**") if loaded
                       else "not comparable: PyTorch kept its own init (" +
                       lt.get("reason", "") + ")")
            out.append(f"| {model} | loss of batch 0 (eval) | {ls['value']:.6f} | "
                       f"{lt['value']:.6f} | | {verdict} |")
        ts, tt = get("s2s", "train_tokens_per_s"), get("torch", "train_tokens_per_s")
        row("training target tokens/s", ts, tt)
        if ts and tt:
            gs, gt = ts["gflops"], tt["gflops"]
            ps_, pt_ = res.peak(ts["threads"]), res.peak(tt["threads"])
            out.append(f"| {model} | training GFLOP/s (% of sgemm peak) | {gs:.1f} "
                       f"({100 * gs / ps_:.0f}%) | {gt:.1f} ({100 * gt / pt_:.0f}%) | "
                       f"{ratio(gs, gt)} | {setting(ts)} / {setting(tt)} |"
                       if ps_ and pt_ else f"| {model} | training GFLOP/s | {gs:.1f} | {gt:.1f} |"
                       f" {ratio(gs, gt)} | |")
        for beam, label in ((1, "greedy words/s"), (5, "beam-5 words/s")):
            ds = get("s2s", "decode_words_per_s", beam=beam)
            dt = get("torch", "decode_words_per_s", beam=beam)
            row(label, ds, dt)
            if ds and dt and abs(ds["mean_output_len"] - dt["mean_output_len"]) > 0.05:
                notes.append(f"{model} {label}: mean output length differs "
                             f"({ds['mean_output_len']:.2f} vs {dt['mean_output_len']:.2f}): "
                             "the two sides did different amounts of work")
        if ts and tt:
            rs = res.at_setting("file", "s2s", model, "peak_rss_mb", ts)
            rt = res.at_setting("file", "torch", model, "peak_rss_mb", tt)
            if rs and rt:
                out.append(f"| {model} | peak RSS MB (at start-up) | {rs['value']:.0f} "
                           f"({rs['base_rss_mb']:.0f}) | {rt['value']:.0f} ({rt['base_rss_mb']:.0f})"
                           f" | {ratio(rs['value'], rt['value'])} | {setting(ts)} / {setting(tt)} |")
        g = get("s2s", "decode_words_per_s", beam=1)
        if g:
            t = get("torch", "decode_words_per_s", beam=1)
            out.append(f"| {model} | mean greedy output length | {g['mean_output_len']:.2f} | "
                       f"{fmt(t and t['mean_output_len'], 2)} | | reference "
                       f"{fmt(res.reference_len.get(model), 2)} |")
    return notes


def bf16_table(res32, res16, out):
    """Each side's best bf16 rate against PyTorch's best fp32 and best bf16 rates."""
    rows = []
    for model in MODELS:
        for metric, match, label in (("train_tokens_per_s", {}, "training target tokens/s"),
                                     ("decode_words_per_s", {"beam": 1}, "greedy words/s"),
                                     ("decode_words_per_s", {"beam": 5}, "beam-5 words/s")):
            s16 = res16.best("file", "s2s", model, metric, **match)
            t16 = res16.best("file", "torch", model, metric, **match)
            s32 = res32.best("file", "s2s", model, metric, **match)
            t32 = res32.best("file", "torch", model, metric, **match)
            if not s16:
                continue
            v = lambda r: r["value"] if r else None
            rows.append(f"| {model} | {label} | {fmt(v(s16))} | {fmt(v(s32))} | "
                        f"{ratio(v(s16), v(s32))} | {fmt(v(t16))} | {fmt(v(t32))} | "
                        f"{ratio(v(s16), v(t32))} | {ratio(v(s16), v(t16))} | "
                        f"{setting(s16)} / {setting(t16) if t16 else '–'} |")
    if not rows:
        return
    out.append("")
    out.append("### bf16 products (s2s `--precision bf16`; PyTorch `torch.autocast(\"cpu\", "
               "dtype=torch.bfloat16)`)")
    out.append("")
    out.append("| model | metric | s2s bf16 | s2s fp32 | s2s bf16/fp32 | PyTorch bf16 | "
               "PyTorch fp32 | s2s bf16 / PyTorch fp32 | s2s bf16 / PyTorch bf16 | "
               "best bf16 setting (s2s / PyTorch) |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    out.extend(rows)


def thread_notes(res):
    """Where one thread setting was far slower than another: worth saying, not hiding."""
    notes = []
    for model in MODELS:
        for side in SIDES:
            for metric, match, label in (("train_tokens_per_s", {}, "training"),
                                         ("decode_words_per_s", {"beam": 1}, "greedy"),
                                         ("decode_words_per_s", {"beam": 5}, "beam-5")):
                found = res.records("file", side, model, metric, **match)
                if len(found) < 2:
                    continue
                lo = min(found, key=lambda r: r["value"])
                hi = max(found, key=lambda r: r["value"])
                if lo["value"] < 0.5 * hi["value"]:
                    notes.append(f"{'PyTorch' if side == 'torch' else 's2s'} {model} {label}: "
                                 f"{hi['value'] / lo['value']:.1f}x slower with {setting(lo)} "
                                 f"than with {setting(hi)}")
    return notes


def growth_tables(res, out):
    lengths = sorted({r.get("src_len") for k, v in res.runs.items() if k[0] == "synthetic"
                      for r in v if r.get("src_len")})
    models = [m for m in MODELS if any(k[0] == "synthetic" and k[2] == m for k in res.runs)]
    if lengths and models:
        out.append("")
        out.append("### Training tokens/s against source length (synthetic batches, target "
                   "length = source length, threads 1)")
        out.append("")
        out.append("Peak RSS in MB in brackets.")
        out.append("")
        head = "| source length |" + "".join(f" {m} s2s | {m} PyTorch | ratio |" for m in models)
        out.append(head)
        out.append("|---:|" + "---:|---:|---:|" * len(models))
        for L in lengths:
            cells = []
            for m in models:
                rate, rss = {}, {}
                for side in SIDES:
                    r = res.best("synthetic", side, m, "train_tokens_per_s", src_len=L)
                    m_ = res.best("synthetic", side, m, "peak_rss_mb", src_len=L)
                    rate[side] = r and r["value"]
                    rss[side] = f" ({m_['value']:.0f})" if m_ else ""
                cells.append(f" {fmt(rate['s2s'])}{rss['s2s']} | {fmt(rate['torch'])}"
                             f"{rss['torch']} | {ratio(rate['s2s'], rate['torch'])} |")
            out.append(f"| {L} |" + "".join(cells))
    beams = sorted({r["beam"] for k, v in res.runs.items() if k[0] == "file" for r in v
                    if r["metric"] == "decode_words_per_s"})
    if len(beams) > 2:
        out.append("")
        out.append("### Decoding time against beam width (CMUdict batches, threads 1)")
        out.append("")
        out.append("ms per batch of 64 words; in brackets the time relative to width 1 of the "
                   "same side.")
        out.append("")
        out.append("| model | beam | s2s ms/batch | PyTorch ms/batch | time ratio s2s/PyTorch |")
        out.append("|---|---:|---:|---:|---:|")
        for model in MODELS:
            base = {}
            for beam in beams:
                cells = []
                for side in SIDES:
                    r = [x["value"] for x in res.records("file", side, model,
                                                         "decode_words_per_s", beam=beam)
                         if x["threads"] == 1]
                    ms = 64e3 / max(r) if r else None
                    base.setdefault(side, ms)
                    cells.append(ms)
                if all(c is None for c in cells):
                    continue
                shown = [f"{c:.1f} (×{c / base[s]:.1f})" if c and base.get(s) else "–"
                         for c, s in zip(cells, SIDES)]
                out.append(f"| {model} | {beam} | {shown[0]} | {shown[1]} | "
                           f"{ratio(cells[0], cells[1])} |")


def main():
    records = load(sys.argv[1])
    res = Results(records)
    h = res.header
    out = [f"# s2s vs PyTorch: training and decoding throughput ({h.get('date', '?')})", ""]
    out.append(f"- machine: {h.get('cpu', '?')}, {h.get('cores', '?')} cores; load average "
               f"at start {h.get('load_start', '?')}, at end {h.get('load_end', '?')} "
               "(the cores are shared: numbers move with the load)")
    out.append(f"- OPENBLAS_CORETYPE={h.get('openblas_coretype', '?')} (as the environment gave "
               f"it); s2s: {h.get('s2s_blas', '?')}")
    out.append(f"- PyTorch {h.get('torch', '?')}, BLAS_INFO={h.get('torch_blas', '?')}: "
               f"{h.get('torch_openblas', '?')} (the same OpenBLAS)")
    out.append(f"- sgemm n=1024 peak: " + ", ".join(
        f"{t} thread{'s' if t > 1 else ''} {r['value']:.1f} GFLOP/s" for t, r in
        sorted(res.sgemm.items())))
    out.append(f"- data: first {h.get('batches', '?')} batches of {h.get('batch_size', '?')} "
               f"words of {h.get('data', '?')} (trainer batching, seed 1, epoch 0); both sides "
               f"decode and train from the same weights (s2s init, seed 1, then "
               f"{h.get('pretrain', '?')} untimed training steps so outputs stop at realistic "
               "lengths); thread settings tried: s2s " + h.get("s2s_settings", "?") +
               ", PyTorch " + h.get("torch_settings", "?") + "; each measured " +
               h.get("repeats", "1") + " time(s), best kept; git " +
               h.get("git", "?"))
    out.append("- training = zero grad, forward, backward, clip-norm 5, Adam lr 1e-3; "
               "decoding = lib/s2s/decoding/decoding.hpp's greedy and beam search (PyTorch: the same "
               "algorithm, batched, with incremental state); GFLOP/s = analytic matrix-product "
               "FLOPs (bench_train.cpp header) / measured time, the same count for both sides")
    out.append("")
    out.append("ratio = s2s / PyTorch: for rates (tokens/s, words/s, GFLOP/s) above 1 means s2s "
               "is faster; for memory and times above 1 means s2s uses more.")
    out.append("")
    notes = main_table(res, out) + thread_notes(res)
    bf16_table(res, Results(records, "bf16"), out)
    growth_tables(res, out)
    if notes:
        out.append("")
        out.extend(f"- **note**: {n}" for n in notes)
    print("\n".join(out))


if __name__ == "__main__":
    main()
