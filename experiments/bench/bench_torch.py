"""The PyTorch half of experiments/bench/run.sh: the measurements of bench_train --from DIR, on
the same batches and (when they load) the same weights, printed as the same JSON lines with
"side": "torch".

  /usr/bin/python3 bench_torch.py --from DIR [--threads T] [--beams 1,5] [--no-train]
                                  [--no-decode] [--pretrain-if-unloaded K]

Order, as bench_train: parameter count, eval-mode loss of batch 0 with the exported weights (the
consistency check), decoding words/s per beam width (one untimed greedy warm-up batch first),
training target tokens/s (zero_grad, loss, backward, clip_grad_norm_ 5, torch.optim.Adam
lr 1e-3; one untimed warm-up step first), final loss, peak RSS (ru_maxrss).
If the exported weights do not load (a model whose parameter names we cannot map), the model keeps
PyTorch's init, says so ("weights": "own-init"), and with --pretrain-if-unloaded K trains K
untimed steps first, so that its outputs have lengths comparable with the s2s side's.
--precision bf16: forward passes (training and decoding) under torch.autocast("cpu",
dtype=torch.bfloat16), PyTorch's mixed precision: matrix products in bf16, weights, gradients and
the optimizer in fp32 (the counterpart of s2s's train.precision = bf16).
Threads: torch.set_num_threads(T) for ATen's OpenMP pool, and openblas_set_num_threads(T) for
the OpenBLAS that this PyTorch build runs its GEMMs on (run.sh also sets OPENBLAS_NUM_THREADS).
"""
import argparse
import contextlib
import ctypes
import ctypes.util
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

LEARNING_RATE = 1e-3
CLIP_NORM = 5.0


def openblas():
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
        if name:
            try:
                return ctypes.CDLL(name)
            except OSError:
                pass
    return None


def blas_info():
    """OpenBLAS core and thread count as this process sees them."""
    lib = openblas()
    if lib is None:
        return {"openblas": "not found"}
    lib.openblas_get_corename.restype = ctypes.c_char_p
    lib.openblas_get_config.restype = ctypes.c_char_p
    return {"openblas_core": lib.openblas_get_corename().decode(),
            "openblas_config": lib.openblas_get_config().decode(),
            "openblas_threads": lib.openblas_get_num_threads()}


def set_threads(n, blas_threads=None):
    torch.set_num_threads(n)
    lib = openblas()
    if lib is not None:
        lib.openblas_set_num_threads(n if blas_threads is None else blas_threads)


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def read_meta(directory):
    meta = {}
    with open(os.path.join(directory, "meta.txt")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            meta[key] = value
    return meta


def read_batches(path):
    """bench_train's batches.txt -> list of (src (S,B), lengths (B), tgt_in (T,B), tgt_out (T,B))."""
    batches = []
    with open(path) as f:
        lines = f.read().splitlines()
    for i in range(0, len(lines), 5):
        B, S, T = map(int, lines[i].split())
        ids = [torch.tensor(np.array(lines[i + j].split(), dtype=np.int64)) for j in range(1, 5)]
        batches.append((ids[0].view(S, B), ids[1], ids[2].view(T, B), ids[3].view(T, B)))
    return batches


def read_params(directory):
    entries = {}
    with open(os.path.join(directory, "params.txt")) as f:
        for line in f:
            name, rows, cols, offset = line.split()
            entries[name] = (int(rows), int(cols), int(offset))
    flat = np.fromfile(os.path.join(directory, "params.bin"), dtype=np.float32)
    return entries, flat


PRECISION = "fp32"  # main() sets it from --precision


def precision_context():
    """torch.autocast to bf16 for --precision bf16; nothing for fp32."""
    if PRECISION == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def keep_transformer_fast_path_off_under_cpu_autocast():
    """PyTorch 1.13's nn.TransformerEncoderLayer skips its inference fast path under autocast by
    asking torch.is_autocast_enabled(), which answers for CUDA only; under CPU autocast the fast
    path then fails ("expected scalar type BFloat16 but found Float"). Answer for both."""
    cuda_only = torch.is_autocast_enabled
    torch.is_autocast_enabled = lambda: cuda_only() or torch.is_autocast_cpu_enabled()


def train_step(model, optimizer, batch):
    optimizer.zero_grad()
    with precision_context():
        loss = model.loss(*batch)
    loss.float().backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
    optimizer.step()
    return loss


def eval_loss(model, batch):
    model.eval()
    with torch.inference_mode(), precision_context():
        return float(model.loss(*batch))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="directory", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="OpenBLAS threads when not --threads (e.g. 1: ATen's OpenMP pool "
                        "alone is parallel, the OpenBLAS calls are single-threaded)")
    parser.add_argument("--beams", default="1,5")
    parser.add_argument("--no-train", action="store_true")
    parser.add_argument("--no-decode", action="store_true")
    parser.add_argument("--pretrain-if-unloaded", type=int, default=0)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: forward passes under torch.autocast (bfloat16)")
    parser.add_argument("--info", action="store_true", help="print the BLAS/torch config and exit")
    args = parser.parse_args()
    base_rss = current_rss_mb()
    global PRECISION
    PRECISION = args.precision
    if PRECISION == "bf16":
        keep_transformer_fast_path_off_under_cpu_autocast()
    set_threads(args.threads, args.blas_threads)
    if args.info:
        print(json.dumps({"side": "torch", "event": "info", "torch": torch.__version__,
                          "torch_threads": torch.get_num_threads(),
                          "blas_info": torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0],
                          **blas_info()}))
        return

    meta = read_meta(args.directory)
    name = meta["model"]
    suite = "synthetic" if meta["source"] == "synthetic" else "file"
    batches = read_batches(os.path.join(args.directory, "batches.txt"))
    torch.manual_seed(int(meta["seed"]))
    model = torch_models.make_model(name, int(meta["src_vocab"]), int(meta["tgt_vocab"]))

    blas_threads = args.threads if args.blas_threads is None else args.blas_threads
    setting = f"{args.threads} ATen + {blas_threads} BLAS"
    if args.precision != "fp32":
        setting += " " + args.precision

    def emit(metric, value, **extra):
        print(json.dumps({"side": "torch", "model": name, "suite": suite,
                          "src_len": int(meta["src_len"]),
                          "threads": max(args.threads, blas_threads), "setting": setting,
                          "precision": args.precision,
                          "metric": metric, "value": value, **extra}), flush=True)

    emit("parameters", sum(p.numel() for p in model.parameters()))
    try:
        torch_models.load_s2s_parameters(model, *read_params(args.directory))
        weights = {"weights": "s2s"}
    except ValueError as e:
        weights = {"weights": "own-init", "reason": str(e)}
        if args.pretrain_if_unloaded > 0:
            model.train()
            optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
            for step in range(args.pretrain_if_unloaded):
                train_step(model, optimizer, batches[step % len(batches)])
            weights["pretrain_steps"] = args.pretrain_if_unloaded
    emit("check_loss", eval_loss(model, batches[0]), **weights)

    if not args.no_decode:
        model.eval()
        with torch.inference_mode(), precision_context():
            src, lengths = batches[0][0], batches[0][1]
            torch_models.greedy_search(model, src, lengths)  # warm-up
            for beam in (int(k) for k in args.beams.split(",")):
                words = output_tokens = 0
                start = time.perf_counter()
                for src, lengths, _, _ in batches:
                    best = torch_models.beam_search(model, src, lengths, beam)
                    words += len(best)
                    output_tokens += sum(len(tokens) for tokens, _ in best)
                seconds = time.perf_counter() - start
                emit("decode_words_per_s", words / seconds, beam=beam, seconds=round(seconds, 4),
                     mean_output_len=output_tokens / words)

    if not args.no_train:
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        train_step(model, optimizer, batches[0])  # warm-up
        tokens = 0
        start = time.perf_counter()
        for batch in batches:
            train_step(model, optimizer, batch)
            tokens += int((batch[3] != torch_models.PAD).sum())
        seconds = time.perf_counter() - start
        flops = 3.0 * float(meta["forward_flops"])
        emit("train_tokens_per_s", tokens / seconds, seconds=round(seconds, 4), tokens=tokens,
             gflops=flops / seconds / 1e9)
        emit("final_loss", eval_loss(model, batches[0]))
    emit("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
         base_rss_mb=round(base_rss, 1))


if __name__ == "__main__":
    main()
