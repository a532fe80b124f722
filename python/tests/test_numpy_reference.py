# SPDX-License-Identifier: MIT
"""An independent forward pass in plain NumPy, from the weights as the
`safetensors` package reads them, must reproduce libdigit's probabilities."""

import numpy as np
import pytest

import digit

safetensors = pytest.importorskip("safetensors")
from safetensors.numpy import load_file  # noqa: E402

# Per architecture: the layer sequence (as in PyTorch's forward).
ARCHS = {
    "basic": [("conv", "conv1", 1), ("relu",), ("pool",),
              ("conv", "conv2", 1), ("relu",), ("pool",),
              ("flatten",), ("linear", "fc1"), ("relu",), ("linear", "fc2")],
    "compact": [("conv", "conv1", 0), ("relu",), ("pool",),
                ("conv", "conv2", 0), ("relu",), ("pool",),
                ("conv", "conv3", 0), ("relu",),
                ("flatten",), ("linear", "fc1"), ("relu",), ("linear", "fc2")],
}


def conv2d(x, w, b, pad):
    """x (N, C, H, W), w (O, C, k, k): cross-correlation, stride 1, zero padding."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w.shape[2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", windows, w, optimize=True) + b[None, :, None, None]


def maxpool2(x):
    n, c, h, w = x.shape
    x = x[:, :, :h // 2 * 2, :w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def reference_forward(path, images_u8):
    """Log-probabilities (N, 10) in float64 from a safetensors model file."""
    weights = {k: v.astype(np.float64) for k, v in load_file(str(path)).items()}
    with safetensors.safe_open(str(path), framework="np") as f:
        meta = f.metadata()
    mean, std = float(meta["mean"]), float(meta["std"])
    x = (images_u8.astype(np.float64) / 255.0 - mean) / std
    x = x.reshape(-1, 1, 28, 28)
    for layer in ARCHS[meta["arch"]]:
        kind = layer[0]
        if kind == "conv":
            x = conv2d(x, weights[f"{layer[1]}.weight"], weights[f"{layer[1]}.bias"], layer[2])
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "pool":
            x = maxpool2(x)
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)  # C, H, W order, as torch.flatten
        elif kind == "linear":
            x = x @ weights[f"{layer[1]}.weight"].T + weights[f"{layer[1]}.bias"]
    return log_softmax(x)


@pytest.mark.parametrize("preset", ["basic", "compact"])
@pytest.mark.parametrize("state", ["fresh", "trained"])
def test_numpy_forward_matches(preset, state, trained_model_path, test_images, tmp_path):
    if state == "trained":
        path = trained_model_path(preset)
    else:
        path = tmp_path / f"{preset}.safetensors"
        with digit.Model(preset, seed=123) as m:
            m.save(path)
    images = test_images[:48]
    with digit.Model.load(path) as m:
        assert m.arch == preset
        got = m.predict(images)
        got_log = m.predict(images, log=True)
        labels = m.classify(images)
    want_log = reference_forward(path, images)
    want = np.exp(want_log)
    err = np.abs(got - want).max()
    assert err < 1e-5, f"max |libdigit - numpy| = {err:g}"
    np.testing.assert_allclose(got_log, want_log, atol=1e-4)
    # argmax agrees wherever the reference is not a near tie
    top2 = np.sort(want, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    np.testing.assert_array_equal(labels[clear], want.argmax(axis=1)[clear])
    if state == "trained":
        assert want.max(axis=1).mean() > 0.5  # a real model, not a uniform guess
