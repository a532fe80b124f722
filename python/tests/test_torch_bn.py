# SPDX-License-Identifier: MIT
"""The presets of libdigit 2.1 against PyTorch: strong (BatchNorm2d/1d,
dropout, bias-free layers) and speedrun. A libdigit file loads with
load_state_dict(strict=True), a state_dict saved by safetensors.torch loads
in libdigit as is, predictions agree, and libdigit's training-mode batch
statistics (over the whole batch, split between two threads) update the
running buffers exactly as PyTorch's. Skipped when torch is not installed."""

import numpy as np
import pytest

import digit

torch = pytest.importorskip("torch", exc_type=ImportError)
pytest.importorskip("safetensors")
import torch.nn as nn  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from digit.torch import NETS  # noqa: E402
from digit.torch import Strong as StrongNet  # noqa: E402

MEAN, STD = 0.1307, 0.3081
TOLERANCE = 1e-4


def torch_log_probs(net, images):
    x = torch.from_numpy((images.astype(np.float32) / 255 - MEAN) / STD).reshape(-1, 1, 28, 28)
    net.eval()
    with torch.no_grad():
        return net(x).numpy()


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, size=(64, 784), dtype=np.uint8)


@pytest.mark.parametrize("preset", ["strong", "speedrun"])
def test_libdigit_file_loads_strictly_in_torch(preset, tmp_path, train_set, test_images):
    path = tmp_path / f"{preset}.safetensors"
    with digit.Model(preset, seed=2) as m:
        m.train(train_set.slice(0, 256), epochs=1, batch_size=64, threads=2, schedule="multistep")
        m.save(path)
        ours = m.predict(test_images[:100], log=True)
    state = load_file(str(path))
    if preset == "strong":
        assert state["bn1.num_batches_tracked"].dtype == torch.int64
        assert state["bn1.num_batches_tracked"].shape == ()
        assert int(state["bn1.num_batches_tracked"]) == 4
    net = NETS[preset]()
    net.load_state_dict(state, strict=True)
    theirs = torch_log_probs(net, test_images[:100])
    assert np.abs(ours - theirs).max() < TOLERANCE


@pytest.mark.parametrize("preset", ["strong", "speedrun"])
def test_torch_state_dict_loads_in_libdigit(preset, tmp_path, images):
    torch.manual_seed(5)
    net = NETS[preset]()
    # Batch norms that look trained: running statistics and affine terms
    # away from their initial 0 and 1.
    for mod in net.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)
                mod.num_batches_tracked.fill_(17)
    path = tmp_path / "from-torch.safetensors"
    save_file(net.state_dict(), str(path))  # no metadata: the preset is inferred
    with digit.Model.load(path) as m:
        assert m.arch == preset
        ours = m.predict(images, log=True)
        m.save(tmp_path / "back.safetensors")
    assert np.abs(ours - torch_log_probs(net, images)).max() < TOLERANCE
    back = load_file(str(tmp_path / "back.safetensors"))
    for name, value in net.state_dict().items():
        assert torch.equal(back[name], value), name


def test_missing_or_mistyped_buffers_are_refused(tmp_path):
    net = StrongNet()
    state = net.state_dict()
    missing = {k: v for k, v in state.items() if k != "bn2.running_var"}
    save_file(missing, str(tmp_path / "missing.safetensors"))
    with pytest.raises(digit.FormatError, match="bn2.running_var"):
        digit.Model.load(tmp_path / "missing.safetensors")
    typed = dict(state)
    typed["bn3.num_batches_tracked"] = typed["bn3.num_batches_tracked"].to(torch.int32)
    save_file(typed, str(tmp_path / "int32.safetensors"))
    with pytest.raises(digit.FormatError, match="bn3.num_batches_tracked"):
        digit.Model.load(tmp_path / "int32.safetensors")
    half = dict(state)
    half["bn1.running_mean"] = half["bn1.running_mean"].half()
    save_file(half, str(tmp_path / "f16.safetensors"))
    with pytest.raises(digit.FormatError, match="bn1.running_mean"):
        digit.Model.load(tmp_path / "f16.safetensors")


def test_batch_statistics_match_torch(tmp_path, train_set):
    """One step on one batch of 128 (two threads, 64 images each): the
    running statistics libdigit keeps are PyTorch's train-mode update from
    the initial weights (momentum 0.1, unbiased variance)."""
    batch = train_set.slice(0, 128)
    with digit.Model("strong", seed=9) as m:
        m.save(tmp_path / "init.safetensors")
        m.train(batch, epochs=1, batch_size=128, threads=2, augment={}, schedule="multistep")
        m.save(tmp_path / "after.safetensors")
    net = StrongNet()
    net.load_state_dict(load_file(str(tmp_path / "init.safetensors")), strict=True)
    net.train()
    x = torch.from_numpy((batch.images.astype(np.float32) / 255 - MEAN) / STD)
    with torch.no_grad():
        net(x.reshape(-1, 1, 28, 28))
    after = load_file(str(tmp_path / "after.safetensors"))
    for name, value in net.state_dict().items():
        if "running" in name:
            assert torch.allclose(after[name], value, rtol=1e-4, atol=1e-5), name
        if "num_batches_tracked" in name:
            assert int(after[name]) == 1
