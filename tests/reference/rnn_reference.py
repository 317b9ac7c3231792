#!/usr/bin/python3
# Reference values for tests/test_gru.cpp, tests/test_lstm.cpp and tests/test_rnn_stack.cpp
# ("PyTorch reference" cases). Run with Debian's python3-torch:
#   /usr/bin/python3 tests/reference/rnn_reference.py
# and paste the printed arrays into the tests.
#
# Everything is a closed formula the C++ tests recompute (see rnn_test_util.hpp):
#   parameter number p in named_parameters() order (= s2s ParamLayout order), entry (r, c):
#       0.4 · sin(0.9 r + 1.7 c + 0.5 p)       (a bias is one column, c = 0)
#   x[t, b, i]      = sin(0.3 t + 1.1 b + 0.5 i)
#   h0[d, b, j]     = 0.2 · cos(0.6 j + 1.3 b + 2 d)     (d = layer·D + direction, as PyTorch)
#   c0[d, b, j]     = 0.3 · sin(0.8 j + 0.4 b + d)
# Padded batch: T = 4, B = 3, I = 3, H = 2, lengths {4, 2, 3}, packed (enforce_sorted=False), so
# the reverse direction starts at each sequence's own last token.
# Printed in s2s layout: outputs as (D·H × T·B) column t·B + b; states as (D·H × B) per layer.
import math
import textwrap

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

T, B, I, H = 4, 3, 3, 2
LENGTHS = [4, 2, 3]


def set_parameters(module):
    with torch.no_grad():
        for p, (_, param) in enumerate(module.named_parameters()):
            if param.dim() == 1:
                param.copy_(torch.tensor([0.4 * math.sin(0.9 * r + 0.5 * p)
                                          for r in range(param.shape[0])], dtype=torch.float64))
            else:
                rows, cols = param.shape
                param.copy_(torch.tensor([[0.4 * math.sin(0.9 * r + 1.7 * c + 0.5 * p)
                                           for c in range(cols)] for r in range(rows)],
                                          dtype=torch.float64))


def inputs():
    return torch.tensor([[[math.sin(0.3 * t + 1.1 * b + 0.5 * i) for i in range(I)]
                          for b in range(B)] for t in range(T)], dtype=torch.float64)


def initial(num):
    h0 = torch.tensor([[[0.2 * math.cos(0.6 * j + 1.3 * b + 2 * d) for j in range(H)]
                        for b in range(B)] for d in range(num)], dtype=torch.float64)
    c0 = torch.tensor([[[0.3 * math.sin(0.8 * j + 0.4 * b + d) for j in range(H)]
                        for b in range(B)] for d in range(num)], dtype=torch.float64)
    return h0, c0


def fmt(values):
    text = ", ".join(f"{v:.15g}" for v in values)
    return "\n" + "\n".join(textwrap.wrap(text, 92, initial_indent="    ",
                                          subsequent_indent="    ")) + "\n"


def print_outputs(name, out):  # out (T, B, F) -> s2s (F × T·B), column-major
    flat = [out[t, b, f].item() for t in range(T) for b in range(B) for f in range(out.shape[2])]
    print(f"// ({out.shape[2]} x {T * B})")
    print(f"const std::vector<double> {name} = {{{fmt(flat)}}};")


def print_states(name, state, directions):  # state (L·D, B, H) -> per layer (D·H × B)
    layers = state.shape[0] // directions
    flat = [state[l * directions + d, b, j].item() for l in range(layers) for b in range(B)
            for d in range(directions) for j in range(H)]
    print(f"// {layers} layer(s) of ({directions * H} x {B})")
    print(f"const std::vector<double> {name} = {{{fmt(flat)}}};")


def run(cell, num_layers, tag):
    module = cell(I, H, num_layers=num_layers, bidirectional=True).double()
    set_parameters(module)
    h0, c0 = initial(2 * num_layers)
    packed = pack_padded_sequence(inputs(), torch.tensor(LENGTHS), enforce_sorted=False)
    with torch.no_grad():
        if cell is torch.nn.LSTM:
            out, (hn, cn) = module(packed, (h0, c0))
        else:
            out, hn = module(packed, h0)
    out, _ = pad_packed_sequence(out, total_length=T)
    print(f"// {tag}")
    print_outputs(f"k{tag}Outputs", out)
    print_states(f"k{tag}FinalH", hn, 2)
    if cell is torch.nn.LSTM:
        print_states(f"k{tag}FinalC", cn, 2)


run(torch.nn.GRU, 1, "TorchGru")
run(torch.nn.LSTM, 1, "TorchLstm")
run(torch.nn.LSTM, 2, "TorchLstmStack")
