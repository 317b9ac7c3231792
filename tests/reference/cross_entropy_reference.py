#!/usr/bin/python3
# Reference value for tests/test_cross_entropy.cpp ("[loss]" PyTorch reference case).
# Run with Debian's python3-torch:  /usr/bin/python3 tests/reference/cross_entropy_reference.py
# PyTorch lays logits out as (N × V); s2s as (V × N), so the rows below are s2s's columns.
import torch
import torch.nn.functional as F

logits = torch.tensor([
    [0.5, -1.0, 2.0, 0.0],   # position 0
    [1.5, 0.25, -0.5, 3.0],  # position 1 (ignored: target 0)
    [-2.0, 0.0, 1.0, 1.0],   # position 2
    [0.1, 0.2, 0.3, -0.4],   # position 3
    [3.0, -3.0, 0.0, 0.5],   # position 4
], dtype=torch.float64)
targets = torch.tensor([2, 0, 3, 1, 2])

for reduction in ("mean", "sum"):
    loss = F.cross_entropy(logits, targets, ignore_index=0, label_smoothing=0.1,
                           reduction=reduction)
    print(f"{reduction}: {loss.item():.17g}")
