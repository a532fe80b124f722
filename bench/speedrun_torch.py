# SPDX-License-Identifier: MIT
"""The speedrun recipe in PyTorch, for the side-by-side wall time against
`digitc train --arch speedrun`: the same network (digit.torch.Speedrun),
one epoch of batch 256 over the whole training set preloaded as one tensor,
Adam 0.01 with betas (0.7, 0.9) under OneCycleLR (pct_start 0.3, div 25,
final div 1e4, no momentum cycling), label smoothing 0.1 (all as libdigit's
preset; --label-smoothing 0 is the recipe as published), then one pass
over the test set and the model saved as safetensors.

    build/torchvenv/bin/python bench/speedrun_torch.py --seed 1 --threads 2

Prints the phases and the wall time from process start (read from /proc,
so that interpreter start-up and `import torch` count, as the program's
start-up counts for digitc) to the model written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
from digit.torch import NORMALISATION, Speedrun  # noqa: E402


def since_process_start() -> float:
    """Seconds since this process started (Linux /proc), as digitc's."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")


def idx(path: Path, offset: int) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), dtype=np.uint8, offset=offset)


def load(data: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = NORMALISATION["speedrun"]
    x = idx(data / f"{prefix}-images-idx3-ubyte", 16).astype(np.float32).reshape(-1, 1, 28, 28)
    y = idx(data / f"{prefix}-labels-idx1-ubyte", 8).astype(np.int64)
    return torch.from_numpy((x / 255 - mean) / std), torch.from_numpy(y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get("DIGIT_DATA",
                                                     str(Path.home() / ".cache/libdigit/mnist")))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--output", default="speedrun-torch.safetensors")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = since_process_start()
    x, y = load(Path(args.data), "train")
    tx, ty = load(Path(args.data), "t10k")
    t1 = since_process_start()

    net = Speedrun()
    batch = 256
    steps = (len(y) + batch - 1) // batch
    opt = torch.optim.Adam(net.parameters(), lr=0.01, betas=(0.7, 0.9))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=steps,
                                                pct_start=0.3, div_factor=25,
                                                final_div_factor=1e4, cycle_momentum=False)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(args.seed))
    net.train()
    for k in range(steps):
        i = order[k * batch:(k + 1) * batch]
        opt.zero_grad(set_to_none=True)
        # The net ends in log_softmax, which cross_entropy's own leaves as is.
        F.cross_entropy(net(x[i]), y[i], label_smoothing=args.label_smoothing).backward()
        opt.step()
        sched.step()
    t2 = since_process_start()

    net.eval()
    with torch.no_grad():
        correct = sum(int((net(tx[j:j + 1000]).argmax(1) == ty[j:j + 1000]).sum())
                      for j in range(0, len(ty), 1000))
    t3 = since_process_start()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, args.output)
    t4 = since_process_start()
    print(f"pytorch {torch.__version__}, {args.threads} threads, seed {args.seed}, "
          f"label smoothing {args.label_smoothing}: "
          f"test accuracy {100 * correct / len(ty):.2f}%")
    print(f"start-up and import {t0:.2f} s, load {t1 - t0:.2f} s, epoch {t2 - t1:.2f} s, "
          f"test {t3 - t2:.2f} s, save {t4 - t3:.2f} s")
    print(f"wall time {t4:.2f} s, from process start to the model written")


if __name__ == "__main__":
    main()
