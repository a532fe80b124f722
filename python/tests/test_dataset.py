# SPDX-License-Identifier: MIT
"""Datasets: IDX files, arrays, copies and slices."""

import gzip

import numpy as np
import pytest

import digit


def test_mnist_files(mnist_dir):
    with digit.Dataset.mnist(mnist_dir, train=False) as t10k:
        assert len(t10k) == 10000
        labels = t10k.labels
        assert labels.dtype == np.uint8 and labels.shape == (10000,)
        assert list(labels[:8]) == [7, 2, 1, 0, 4, 1, 4, 9]
        with digit.Dataset.load(mnist_dir / "t10k-images-idx3-ubyte",
                                str(mnist_dir / "t10k-labels-idx1-ubyte")) as same:
            assert len(same) == 10000
            np.testing.assert_array_equal(same.labels, labels)
    assert "closed" in repr(t10k)
    with pytest.raises(digit.ClosedError, match="Dataset has been closed"):
        len(t10k)


def write_idx(path, array, opener=open):
    """An IDX file: magic (0, 0, 0x08 = uint8, rank), big-endian dims, data."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    with opener(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def test_gzip_and_handmade_idx_files(tmp_path, test_set):
    images, labels = test_set.images[:100], test_set.labels[:100]
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, gzip.open)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, gzip.open)
    with digit.Dataset.mnist(tmp_path, train=False) as ds:
        np.testing.assert_array_equal(ds.images, images)
        np.testing.assert_array_equal(ds.labels, labels)
    write_idx(tmp_path / "img", images)
    write_idx(tmp_path / "lab", labels)
    with digit.Dataset.load(tmp_path / "img", tmp_path / "lab") as ds:
        np.testing.assert_array_equal(ds.images, images)
    bad = labels.copy()
    bad[7] = 12
    write_idx(tmp_path / "badlab", bad)
    with pytest.raises(digit.FormatError, match="label 7 is 12"):
        digit.Dataset.load(tmp_path / "img", tmp_path / "badlab")


def test_copies_and_slices(test_set):
    images, labels = test_set.images, test_set.labels
    assert images.shape == (len(test_set), 28, 28) and images.dtype == np.uint8
    images[0] = 0  # copies: changing them changes nothing in the dataset
    labels[:] = 0
    assert test_set.images[0].any() and test_set.labels.any()
    with test_set[10:20] as part:
        assert len(part) == 10
        np.testing.assert_array_equal(part.images, test_set.images[10:20])
        np.testing.assert_array_equal(part.labels, test_set.labels[10:20])
    with test_set[-5:] as tail:
        np.testing.assert_array_equal(tail.labels, test_set.labels[-5:])
    img, label = test_set[3]
    np.testing.assert_array_equal(img, test_set.images[3])
    assert label == test_set.labels[3] and isinstance(label, int)
    assert test_set[-1][1] == test_set.labels[-1]
    with pytest.raises(IndexError):
        test_set[len(test_set)]
    with pytest.raises(ValueError, match="step"):
        test_set[::2]
    with pytest.raises(ValueError, match="at least one"):
        test_set[5:5]
    with pytest.raises(ValueError):
        test_set.slice(len(test_set) - 1, 5)


def test_from_arrays(test_set):
    images, labels = test_set.images[:30], test_set.labels[:30]
    with digit.Dataset.from_arrays(images, labels.astype(np.int64)) as ds:
        assert len(ds) == 30
        np.testing.assert_array_equal(ds.images, images)
        np.testing.assert_array_equal(ds.labels, labels)
    with digit.Dataset.from_arrays(images.reshape(30, 784), list(labels)) as ds:
        np.testing.assert_array_equal(ds.images, images)
    with pytest.raises(TypeError, match="use Dataset.load"):
        digit.Dataset()


@pytest.mark.parametrize("images, labels, exc, match", [
    (np.zeros((3, 28, 28), np.float32), [0, 1, 2], TypeError, "uint8"),
    (np.zeros((3, 28, 27), np.uint8), [0, 1, 2], ValueError, "shape"),
    (np.zeros((28, 28), np.uint8), [0], ValueError, "shape"),
    (np.zeros((3, 28, 28), np.uint8), [0, 1], ValueError, "match 3 images"),
    (np.zeros((3, 28, 28), np.uint8), [0, 1, 10], ValueError, "label 2 is 10"),
    (np.zeros((3, 28, 28), np.uint8), [0, -1, 2], ValueError, "label 1 is -1"),
    (np.zeros((3, 28, 28), np.uint8), [0.0, 1.0, 2.0], TypeError, "integers"),
    (np.zeros((3, 28, 28), np.uint8), [True, False, True], TypeError, "integers"),
    (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), ValueError, "at least one"),
])
def test_from_arrays_refuses_bad_input(images, labels, exc, match):
    with pytest.raises(exc, match=match):
        digit.Dataset.from_arrays(images, np.asarray(labels))


def write_folder(root, test_set, per_class=2):
    """An ImageFolder-style tree of black-on-white JPEG and PNG files made
    from MNIST test digits; returns {relative path: label}."""
    from PIL import Image

    made = {}
    images, labels = test_set.images[:200], test_set.labels[:200]
    for label in range(10):
        (root / str(label)).mkdir(parents=True)
        picks = np.flatnonzero(labels == label)[:per_class]
        for k, i in enumerate(picks):
            name = f"{label}/{k}.{'png' if k % 2 else 'jpg'}"
            picture = Image.fromarray(255 - images[i]).resize((84, 84))
            picture.save(root / name, quality=95)
            made[name] = label
    return made


def test_folder_of_own_pictures(tmp_path, test_set):
    made = write_folder(tmp_path / "mine", test_set)
    (tmp_path / "mine" / "notes.txt").write_text("files beside the class folders are passed over")
    with digit.Dataset.from_folder(tmp_path / "mine") as ds:
        assert len(ds) == len(made) == 20
        order = sorted(made)
        assert list(ds.labels) == [made[name] for name in order]
        for k, name in enumerate(order):
            np.testing.assert_array_equal(ds.images[k],
                                          digit.load_image(tmp_path / "mine" / name))
        with digit.Dataset.from_arrays(test_set.images[:3], test_set.labels[:3]) as few:
            with few + ds as both:
                assert len(both) == 23
                np.testing.assert_array_equal(both.labels[:3], test_set.labels[:3])
                np.testing.assert_array_equal(both.images[3:], ds.images)


def test_folder_errors_name_the_problem(tmp_path, test_set):
    write_folder(tmp_path / "mine", test_set, per_class=1)
    (tmp_path / "mine" / "3" / "scan.txt").write_text("not a picture")
    with pytest.raises(digit.DigitError, match="scan.txt"):
        digit.Dataset.from_folder(tmp_path / "mine")
    (tmp_path / "mine" / "3" / "scan.txt").unlink()
    (tmp_path / "mine" / "ten").mkdir()
    with pytest.raises(digit.DigitError, match="ten: not a class folder"):
        digit.Dataset.from_folder(tmp_path / "mine")
    (tmp_path / "empty").mkdir()
    with pytest.raises(digit.DigitError, match="no pictures"):
        digit.Dataset.from_folder(tmp_path / "empty")
    with pytest.raises(digit.DigitError, match="missing"):
        digit.Dataset.from_folder(tmp_path / "missing")
