# SPDX-License-Identifier: MIT
"""Models: presets, description, metadata, weights, copies and lifetime."""

import copy
import gc

import numpy as np
import pytest

import digit

EXPECTED = {
    "basic": {
        "params": 421642,
        "tensors": {
            "conv1.weight": (32, 1, 3, 3), "conv1.bias": (32,),
            "conv2.weight": (64, 32, 3, 3), "conv2.bias": (64,),
            "fc1.weight": (128, 3136), "fc1.bias": (128,),
            "fc2.weight": (10, 128), "fc2.bias": (10,),
        },
        "layers": ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten",
                   "fc1", "relu3", "fc2", "log_softmax"],
    },
    "compact": {
        "params": 31898,
        "tensors": {
            "conv1.weight": (16, 1, 5, 5), "conv1.bias": (16,),
            "conv2.weight": (32, 16, 3, 3), "conv2.bias": (32,),
            "conv3.weight": (16, 32, 1, 1), "conv3.bias": (16,),
            "fc1.weight": (64, 400), "fc1.bias": (64,),
            "fc2.weight": (10, 64), "fc2.bias": (10,),
        },
        "layers": ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3",
                   "relu3", "flatten", "fc1", "relu4", "fc2", "log_softmax"],
    },
}


@pytest.mark.parametrize("preset", ["basic", "compact"])
def test_presets_describe_themselves(preset):
    want = EXPECTED[preset]
    with digit.Model(preset, seed=1) as m:
        assert m.arch == preset
        assert m.param_count == want["params"]
        layers = m.layers
        assert [layer.name for layer in layers] == want["layers"]
        assert sum(layer.param_count for layer in layers) == want["params"]
        assert layers[-1].shape == (10, 1, 1)
        assert layers[0].param_count == int(np.prod(want["tensors"]["conv1.weight"])) + \
            want["tensors"]["conv1.bias"][0]
        s = m.summary()
        assert f"architecture {preset}" in s
        assert f"total parameters: {want['params']}" in s
        assert s.count("\n") == len(layers) + 3
        assert preset in repr(m)


def test_unknown_preset():
    with pytest.raises(digit.ArgumentError, match="resnet") as e:
        digit.Model("resnet")
    assert isinstance(e.value, ValueError)
    assert e.value.status == 1
    with pytest.raises(TypeError):
        digit.Model(3)
    with pytest.raises(ValueError):
        digit.Model("basic", seed=-1)


@pytest.mark.parametrize("preset", ["basic", "compact"])
def test_state_dict_names_shapes_and_copies(preset):
    with digit.Model(preset) as m:
        sd = m.state_dict()
        assert list(sd) == list(EXPECTED[preset]["tensors"])
        assert {k: v.shape for k, v in sd.items()} == EXPECTED[preset]["tensors"]
        assert all(v.dtype == np.float32 for v in sd.values())
        assert all(v.flags.c_contiguous and v.flags.writeable for v in sd.values())
        sd["fc2.bias"][:] = 123.0  # a copy: the model does not change
        assert not np.any(m.state_dict()["fc2.bias"] == 123.0)


def test_initialisation_is_seeded():
    with digit.Model("basic", seed=5) as a, digit.Model("basic", seed=5) as b, \
            digit.Model("basic", seed=6) as c:
        sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])
        assert not np.array_equal(sa["fc1.weight"], sc["fc1.weight"])
        # Kaiming-uniform as PyTorch: |w| <= 1/sqrt(fan_in) for these layers
        assert np.abs(sa["fc1.weight"]).max() <= 1 / np.sqrt(3136) + 1e-7
        assert np.abs(sa["conv1.bias"]).max() <= 1 / 3 + 1e-7


def test_load_state_dict_round_trip(test_images):
    with digit.Model("compact", seed=1) as a, digit.Model("compact", seed=2) as b:
        x = test_images[:16]
        assert not np.allclose(a.predict(x), b.predict(x))
        b.load_state_dict(a.state_dict())
        np.testing.assert_array_equal(a.predict(x), b.predict(x))
        # float64 arrays are accepted and converted
        b.load_state_dict({k: v.astype(np.float64) for k, v in a.state_dict().items()})
        np.testing.assert_array_equal(a.predict(x), b.predict(x))


def test_load_state_dict_refuses_misfits():
    with digit.Model("compact") as m, digit.Model("basic") as other:
        before = m.state_dict()
        with pytest.raises(ValueError, match="missing conv3.weight"):
            m.load_state_dict(other.state_dict())
        sd = m.state_dict()
        sd["fc2.bias"] = np.zeros(11, np.float32)
        with pytest.raises(ValueError, match=r"fc2.bias has shape \(11,\)"):
            m.load_state_dict(sd)
        sd = m.state_dict()
        sd["extra.weight"] = np.zeros(1, np.float32)
        with pytest.raises(ValueError, match="unexpected extra.weight"):
            m.load_state_dict(sd)
        sd = m.state_dict()
        sd["fc1.bias"][3] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            m.load_state_dict(sd)
        sd = m.state_dict()
        sd["fc1.bias"] = sd["fc1.bias"].astype(np.int32)
        with pytest.raises(TypeError):
            m.load_state_dict(sd)
        with pytest.raises(TypeError):
            m.load_state_dict([1, 2])
        after = m.state_dict()  # nothing was written by a refused call
        for k in before:
            np.testing.assert_array_equal(before[k], after[k])


def test_metadata(tmp_path):
    with digit.Model("basic") as m:
        md = m.metadata
        assert len(md) == 0 and dict(md) == {}
        md["trained_with"] = "pytest"
        md["note"] = "ünïcode ✓"
        md.update({"a": "1"}, b="2")
        md["note"] = "changed"  # replaces in place, keeps the order
        assert list(md) == ["trained_with", "note", "a", "b"]
        assert md["note"] == "changed"
        assert md.get("missing") is None and md.get("missing", "x") == "x"
        assert "a" in md and "zzz" not in md and 3 not in md
        with pytest.raises(KeyError):
            md["missing"]
        for reserved in ("arch", "format", "mean", "std"):
            with pytest.raises(digit.ArgumentError, match="reserved"):
                md[reserved] = "x"
        with pytest.raises(TypeError):
            md["n"] = 3
        with pytest.raises(digit.ArgumentError, match="empty"):
            md[""] = "x"
        md["gone"] = "soon"
        del md["gone"]
        assert "gone" not in md
        with pytest.raises(KeyError):
            del md["gone"]
        with pytest.raises(KeyError):  # reserved keys are not metadata entries
            del md["arch"]
        path = tmp_path / "m.safetensors"
        m.save(path)
        with m.clone() as c:
            assert dict(c.metadata) == dict(md)
    with digit.Model.load(path) as loaded:
        assert dict(loaded.metadata) == {"trained_with": "pytest", "note": "changed",
                                         "a": "1", "b": "2"}


def test_clone_is_independent(test_images):
    with digit.Model("compact", seed=3) as m:
        c = m.clone()
        d = copy.deepcopy(m)
        x = test_images[:8]
        np.testing.assert_array_equal(m.predict(x), c.predict(x))
        sd = c.state_dict()
        sd["fc2.bias"] += 1.0
        c.load_state_dict(sd)
        assert not np.array_equal(m.state_dict()["fc2.bias"], c.state_dict()["fc2.bias"])
        m.close()
        assert d.predict(x).shape == (8, 10)  # copies outlive the original
        c.close(), d.close()


def test_save_load_and_from_bytes(tmp_path, test_images):
    path = tmp_path / "model.safetensors"
    with digit.Model("basic", seed=9) as m:
        m.save(path)
        m.save(str(path))  # overwrite, str path
        want = m.predict(test_images[:10])
    with digit.Model.load(path) as a:
        np.testing.assert_array_equal(a.predict(test_images[:10]), want)
    with digit.Model.from_bytes(path.read_bytes()) as b:
        np.testing.assert_array_equal(b.predict(test_images[:10]), want)
    assert not list(tmp_path.glob("*.tmp-*"))  # the atomic save leaves nothing behind


def test_close_and_context_manager(tmp_path):
    m = digit.Model("compact")
    assert not m.closed
    m.close()
    assert m.closed
    m.close()  # twice is fine
    for use in (lambda: m.predict(np.zeros((28, 28), np.uint8)), lambda: m.arch,
                lambda: m.state_dict(), lambda: m.metadata, lambda: m.save(tmp_path / "x"),
                lambda: m.summary()):
        with pytest.raises(digit.ClosedError, match="Model has been closed"):
            use()
    assert "closed" in repr(m)
    with pytest.raises(digit.ClosedError):
        with m:
            pass
    path = tmp_path / "m.safetensors"
    digit.Model("compact").save(path)
    with digit.Model.load(path) as loaded:
        assert loaded.arch == "compact"
    assert loaded.closed


def test_garbage_collection_frees_handles():
    # __del__ is the fallback: many unreferenced models must not pile up or crash.
    for _ in range(50):
        digit.Model("basic")
    gc.collect()


def test_normalization_and_read_only_weights():
    with digit.Model("basic") as m:
        mean, std = m.normalization
        assert abs(mean - 0.1307) < 1e-6 and abs(std - 0.3081) < 1e-6
        state = m.state_dict()
        state["fc2.bias"][:] = 5.0  # a copy: the model is unchanged
        assert not (m.state_dict()["fc2.bias"] == 5.0).any()
        m.load_state_dict(state)  # through the mutable accessor
        assert (m.state_dict()["fc2.bias"] == 5.0).all()
    with digit.Model("compact") as m:
        assert m.normalization == (0.0, 1.0)
