# SPDX-License-Identifier: MIT
"""Weights move between libdigit and PyTorch through safetensors files, both
ways, with the same predictions. Skipped when torch is not installed."""

import sys

import numpy as np
import pytest

import digit
from conftest import EXAMPLES_DIR

torch = pytest.importorskip("torch", exc_type=ImportError)
pytest.importorskip("safetensors")

if str(EXAMPLES_DIR) not in sys.path:
    sys.path.insert(0, str(EXAMPLES_DIR))
import torch_interop as ti  # noqa: E402  (python/examples/torch_interop.py)

TOLERANCE = 1e-4


@pytest.mark.parametrize("preset", ["basic", "compact"])
def test_same_names_and_shapes(preset):
    net = ti.NETS[preset]()
    with digit.Model(preset) as m:
        ours = {k: v.shape for k, v in m.state_dict().items()}
        assert sum(p.numel() for p in net.parameters()) == m.param_count
    theirs = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert list(theirs) == list(ours) and theirs == ours


@pytest.mark.parametrize("preset", ["basic", "compact"])
def test_libdigit_to_torch(preset, trained_model_path, test_images):
    path = trained_model_path(preset)
    net, arch = ti.libdigit_to_torch(path)
    assert arch == preset
    x = test_images[:100]
    theirs = ti.torch_probabilities(net, x, arch)
    with digit.Model.load(path) as m:
        ours = m.predict(x)
    assert np.abs(ours - theirs).max() < TOLERANCE
    assert (ours.argmax(1) == theirs.argmax(1)).mean() > 0.98


@pytest.mark.parametrize("preset", ["basic", "compact"])
def test_torch_to_libdigit(preset, tmp_path, train_set, test_images):
    torch.manual_seed(11)
    net = ti.NETS[preset]()
    ti.train_torch_briefly(net, train_set.images[:512], train_set.labels[:512], preset,
                           steps=3)
    x = test_images[:100]
    theirs = ti.torch_probabilities(net, x, preset)
    path = tmp_path / "from-torch.safetensors"
    with ti.torch_to_libdigit(net, path) as m:  # safetensors.torch.save_file, no metadata
        assert m.arch == preset
        ours = m.predict(x)
    assert np.abs(ours - theirs).max() < TOLERANCE
    # state_dict() tensors straight from PyTorch (parameters requiring grad)
    with digit.Model(preset) as m:
        m.load_state_dict(net.state_dict())
        assert np.abs(m.predict(x) - theirs).max() < TOLERANCE
        back = {k: torch.from_numpy(v) for k, v in m.state_dict().items()}
    fresh = ti.NETS[preset]()
    fresh.load_state_dict(back)
    assert np.abs(ti.torch_probabilities(fresh, x, preset) - theirs).max() < TOLERANCE


def test_example_script(mnist_dir, capsys):
    rc = ti.main(["--data", str(mnist_dir), "--limit", "300", "--test-images", "50",
                  "--torch-steps", "2"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "libdigit -> PyTorch" in out and "PyTorch -> libdigit" in out and "OK:" in out
