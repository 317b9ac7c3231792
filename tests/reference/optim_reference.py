#!/usr/bin/python3
# Reference values for tests/test_optim.cpp ("[optim]" PyTorch reference case): three steps of
# each torch.optim optimizer on one 4-element parameter with fixed gradients and a learning rate
# changed between steps (as a schedule would).
# Run with Debian's python3-torch:  /usr/bin/python3 tests/reference/optim_reference.py
import torch

initial = [0.5, -1.0, 2.0, 0.0]
grads = [[0.1, -0.2, 0.3, 0.0], [-0.5, 0.4, 0.0, 1.0], [0.05, 0.05, -0.05, 2.0]]
lrs = [0.1, 0.05, 0.02]

configs = {
    "sgd momentum": lambda p: torch.optim.SGD([p], lr=lrs[0], momentum=0.9, weight_decay=0.01),
    "sgd nesterov": lambda p: torch.optim.SGD([p], lr=lrs[0], momentum=0.9, nesterov=True,
                                              weight_decay=0.01),
    "adam": lambda p: torch.optim.Adam([p], lr=lrs[0], betas=(0.9, 0.98), eps=1e-9,
                                       weight_decay=0.01),
    "adamw": lambda p: torch.optim.AdamW([p], lr=lrs[0], betas=(0.9, 0.999), eps=1e-8,
                                         weight_decay=0.1),
}
for name, make in configs.items():
    p = torch.nn.Parameter(torch.tensor(initial, dtype=torch.float64))
    opt = make(p)
    for g, lr in zip(grads, lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    print(f"{name}: {{" + ", ".join(f"{v:.17g}" for v in p.detach().tolist()) + "}")
