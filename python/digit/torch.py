# SPDX-License-Identifier: MIT
"""libdigit's architectures as PyTorch modules: the one definition used by
the benchmarks (bench/pytorch_bench.py, bench/speedrun_torch.py), the
examples and the tests.

Their attributes are named like libdigit's layers (conv1, bn1, ..., fc1,
fc2), so state_dict names and shapes are the same on both sides (batch
norm's buffers included) and a model file moves between them unchanged.
Inputs are normalised as libdigit does internally, (x/255 - mean) / std
with NORMALISATION[arch].

Compact ends in plain logits (trained with cross_entropy), the others in
log_softmax (trained with nll_loss), as their sources do; softmax of any
output gives the probabilities, and cross_entropy fits all of them.

Needs torch; importing ``digit`` itself never imports this module.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["Basic", "Compact", "Strong", "Speedrun", "NETS", "NORMALISATION"]


class Basic(nn.Module):  # type: ignore[misc]
    """libdigit's "basic": two 3x3 convolutions (padding 1) with max-pooling,
    then 3136 -> 128 -> 10. 421,642 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(3136, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # 32x14x14
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # 64x7x7
        x = F.relu(self.fc1(torch.flatten(x, 1)))    # C, H, W order
        return F.log_softmax(self.fc2(x), dim=1)


class Compact(nn.Module):  # type: ignore[misc]
    """libdigit's "compact": 5x5 and 3x3 convolutions without padding, a 1x1
    convolution down to 16 channels, then 400 -> 64 -> 10. 31,898 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.conv3 = nn.Conv2d(32, 16, 1)
        self.fc1 = nn.Linear(400, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # 16x12x12
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # 32x5x5
        x = F.relu(self.conv3(x))                    # 16x5x5
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


class Strong(nn.Module):  # type: ignore[misc]
    """libdigit's "strong": three bias-free convolutions (5x5, 3x3, 3x3;
    32, 48, 96 channels, padded) each with batch norm, ReLU and
    max-pooling, then 864 -> 128 (bias-free, batch norm, ReLU, dropout 0.3)
    -> 10. 168,586 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 48, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(48)
        self.conv3 = nn.Conv2d(48, 96, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(96)
        self.fc1 = nn.Linear(96 * 3 * 3, 128, bias=False)
        self.bn4 = nn.BatchNorm1d(128)
        self.dropout = nn.Dropout(0.3)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # 32x14x14
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # 48x7x7
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)  # 96x3x3
        x = self.dropout(F.relu(self.bn4(self.fc1(torch.flatten(x, 1)))))
        return F.log_softmax(self.fc2(x), dim=1)


class Speedrun(nn.Module):  # type: ignore[misc]
    """libdigit's "speedrun": 5x5 convolution to 24 channels, 3x3 to 32,
    each with ReLU and max-pooling, then 800 -> 256 -> 10. 215,194
    parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 24, 5)
        self.conv2 = nn.Conv2d(24, 32, 3)
        self.fc1 = nn.Linear(800, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # 24x12x12
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # 32x5x5
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return F.log_softmax(self.fc2(x), dim=1)


NETS: dict[str, type[nn.Module]] = {"basic": Basic, "compact": Compact,
                                    "strong": Strong, "speedrun": Speedrun}
NORMALISATION: dict[str, tuple[float, float]] = {"basic": (0.1307, 0.3081),
                                                 "compact": (0.0, 1.0),
                                                 "strong": (0.1307, 0.3081),
                                                 "speedrun": (0.1307, 0.3081)}
