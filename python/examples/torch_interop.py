#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Move weights between libdigit and PyTorch through safetensors files.

    python3 python/examples/torch_interop.py [--data DIR] [--arch NAME|all]

Every libdigit architecture is an ordinary PyTorch module (digit.torch).
Their attributes are named like libdigit's layers (conv1, bn1, ..., fc1,
fc2), so the state_dict names and shapes are the same on both sides
("conv1.weight" [32, 1, 3, 3], "bn1.running_mean" [32], ...) and a model
file needs no conversion:

  libdigit -> PyTorch:  digit.Model.save(path)
                        net.load_state_dict(safetensors.torch.load_file(path))
  PyTorch -> libdigit:  safetensors.torch.save_file(net.state_dict(), path)
                        digit.Model.load(path)   (the architecture is inferred)

Pixels go into the PyTorch nets normalised as libdigit does internally:
(x/255 - mean) / std, with (0, 1) for compact and (0.1307, 0.3081) for the
others (libdigit writes them into the file's metadata as "mean" and "std").
Needs torch and safetensors (pip install torch safetensors).
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import digit
import digit.torch


NETS = digit.torch.NETS
NORMALISATION = digit.torch.NORMALISATION


def to_input(images_u8: np.ndarray, arch: str) -> torch.Tensor:
    """uint8 (N, 28, 28) pixels -> the normalised (N, 1, 28, 28) float tensor."""
    mean, std = NORMALISATION[arch]
    x = torch.from_numpy(np.ascontiguousarray(images_u8)).float().div(255.0)
    return x.sub(mean).div(std).reshape(-1, 1, 28, 28)


def torch_probabilities(net: nn.Module, images_u8: np.ndarray, arch: str) -> np.ndarray:
    net.eval()
    with torch.no_grad():
        # softmax: basic ends in log_softmax, compact in logits (digit.torch)
        return torch.softmax(net(to_input(images_u8, arch)), dim=1).numpy()


def libdigit_to_torch(path) -> tuple[nn.Module, str]:
    """A PyTorch module holding the weights of a libdigit model file."""
    with safe_open(str(path), framework="pt") as f:
        arch = (f.metadata() or {}).get("arch", "basic")
    net = NETS[arch]()
    net.load_state_dict(load_file(str(path)))  # strict: names and shapes must match
    return net.eval(), arch


def torch_to_libdigit(net: nn.Module, path) -> "digit.Model":
    """Saves a PyTorch module the standard way and loads it with libdigit."""
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(path))
    return digit.Model.load(path)


def train_torch_briefly(net: nn.Module, images: np.ndarray, labels: np.ndarray,
                        arch: str, steps: int = 20, seed: int = 0) -> None:
    """A few Adam steps in PyTorch, so the weights are PyTorch's own work."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=0.003 if arch == "compact" else 0.001)
    x, y = to_input(images, arch), torch.from_numpy(labels.astype(np.int64))
    net.train()
    for _ in range(steps):
        idx = torch.randint(0, len(y), (64,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(net(x[idx]), y[idx]).backward()  # fits logits and log-probabilities
        opt.step()
    net.eval()


def demo(arch: str, train: "digit.Dataset", test_images: np.ndarray,
         test_labels: np.ndarray, folder: Path, torch_steps: int = 20) -> float:
    print(f"== {arch}")
    # 1. libdigit -> PyTorch
    with digit.Model(arch, seed=1) as model:
        # Batches of 32 for every preset, so that even a few hundred images
        # make enough steps for the one-cycle schedules of strong and speedrun.
        model.train(train, epochs=1, batch_size=32, lr=0.003 if arch == "compact" else None)
        ours = model.predict(test_images)
        path = folder / f"{arch}-from-libdigit.safetensors"
        model.save(path)
    net, arch_in_file = libdigit_to_torch(path)
    theirs = torch_probabilities(net, test_images, arch_in_file)
    d1 = float(np.abs(ours - theirs).max())
    print(f"libdigit -> PyTorch: max |p_libdigit - p_torch| = {d1:.2e}, accuracy "
          f"{(ours.argmax(1) == test_labels).mean():.1%} / "
          f"{(theirs.argmax(1) == test_labels).mean():.1%}")

    # 2. PyTorch -> libdigit: fresh PyTorch weights, trained a little in PyTorch
    torch.manual_seed(2)
    net = NETS[arch]()
    train_torch_briefly(net, train.images, train.labels, arch, steps=torch_steps)
    theirs = torch_probabilities(net, test_images, arch)
    with torch_to_libdigit(net, folder / f"{arch}-from-torch.safetensors") as model:
        assert model.arch == arch
        ours = model.predict(test_images)
    d2 = float(np.abs(ours - theirs).max())
    print(f"PyTorch -> libdigit: max |p_torch - p_libdigit| = {d2:.2e}, accuracy "
          f"{(theirs.argmax(1) == test_labels).mean():.1%} / "
          f"{(ours.argmax(1) == test_labels).mean():.1%}")
    return max(d1, d2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="folder with the MNIST IDX files")
    ap.add_argument("--arch", default="all", choices=["all", *NETS])
    ap.add_argument("--limit", type=int, default=2000, help="training images to use")
    ap.add_argument("--test-images", type=int, default=1000,
                    help="test images whose predictions are compared")
    ap.add_argument("--torch-steps", type=int, default=20,
                    help="Adam steps of PyTorch training before the PyTorch -> libdigit move")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args(argv)

    data = digit.mnist_dir(args.data)
    with digit.Dataset.mnist(data, train=True) as full:
        train = full[:args.limit]
    with digit.Dataset.mnist(data, train=False) as test:
        n = args.test_images
        test_images, test_labels = test.images[:n], test.labels[:n]
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp, train:
        for arch in (NETS if args.arch == "all" else [args.arch]):
            worst = max(worst, demo(arch, train, test_images, test_labels, Path(tmp),
                                    args.torch_steps))
    ok = worst <= args.tolerance
    print(f"{'OK' if ok else 'MISMATCH'}: largest probability difference {worst:.2e} "
          f"(tolerance {args.tolerance:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
