# SPDX-License-Identifier: MIT
"""The saved file is a plain safetensors file with PyTorch's names and shapes,
and files written by other safetensors writers load."""

import json

import numpy as np
import pytest

import digit

safetensors = pytest.importorskip("safetensors")
from safetensors.numpy import load_file, save_file  # noqa: E402

SHAPES = {
    "basic": {
        "conv1.weight": [32, 1, 3, 3], "conv1.bias": [32],
        "conv2.weight": [64, 32, 3, 3], "conv2.bias": [64],
        "fc1.weight": [128, 3136], "fc1.bias": [128],
        "fc2.weight": [10, 128], "fc2.bias": [10],
    },
    "compact": {
        "conv1.weight": [16, 1, 5, 5], "conv1.bias": [16],
        "conv2.weight": [32, 16, 3, 3], "conv2.bias": [32],
        "conv3.weight": [16, 32, 1, 1], "conv3.bias": [16],
        "fc1.weight": [64, 400], "fc1.bias": [64],
        "fc2.weight": [10, 64], "fc2.bias": [10],
    },
}
NORMALISATION = {"basic": (0.1307, 0.3081), "compact": (0.0, 1.0)}


@pytest.mark.parametrize("preset", ["basic", "compact"])
def test_file_layout(preset, trained_model_path):
    path = trained_model_path(preset)
    # The raw header: 8-byte little-endian length, then JSON.
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    assert {k: v["shape"] for k, v in header.items()} == SHAPES[preset]
    assert {v["dtype"] for v in header.values()} == {"F32"}
    spans = sorted(tuple(v["data_offsets"]) for v in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(raw) - 8 - n
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # dense, no gaps

    assert meta["format"] == "pt" and meta["arch"] == preset
    mean, std = NORMALISATION[preset]
    assert float(meta["mean"]) == pytest.approx(mean) and float(meta["std"]) == pytest.approx(std)
    assert meta["trained_with"] == "pytest"

    # The reference reader agrees, and its arrays are the model's state_dict.
    tensors = load_file(str(path))
    with safetensors.safe_open(str(path), framework="np") as f:
        assert f.metadata() == meta
    with digit.Model.load(path) as m:
        sd = m.state_dict()
    assert list(sd) == list(SHAPES[preset])
    for name, array in tensors.items():
        assert array.dtype == np.float32 and list(array.shape) == SHAPES[preset][name]
        np.testing.assert_array_equal(array, sd[name])


@pytest.mark.parametrize("preset", ["basic", "compact"])
def test_foreign_files_load(preset, tmp_path, test_images):
    """A file from safetensors.numpy.save_file without any metadata: the
    architecture is inferred from the tensors."""
    with digit.Model(preset, seed=21) as m:
        sd = m.state_dict()
        want = m.predict(test_images[:16])
    path = tmp_path / "foreign.safetensors"
    save_file(sd, str(path))
    with digit.Model.load(path) as loaded:
        assert loaded.arch == preset
        np.testing.assert_array_equal(loaded.predict(test_images[:16]), want)

    # F64 tensors are refused with a reason
    save_file({k: v.astype(np.float64) for k, v in sd.items()}, str(path))
    with pytest.raises(digit.FormatError, match="F64"):
        digit.Model.load(path)
    # a missing tensor, an extra tensor, a wrong shape
    partial = dict(sd)
    del partial["fc2.bias"]
    save_file(partial, str(path))
    with pytest.raises(digit.FormatError, match="no known architecture"):
        digit.Model.load(path)
    save_file(sd, str(path), metadata={"arch": preset})
    with digit.Model.load(path) as m:
        assert m.arch == preset
    other = "compact" if preset == "basic" else "basic"
    save_file(sd, str(path), metadata={"arch": other})
    with pytest.raises(digit.FormatError, match=f"not a valid '{other}' model"):
        digit.Model.load(path)
