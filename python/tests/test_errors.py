# SPDX-License-Identifier: MIT
"""Bad paths and bad files: clear exceptions that name the file."""

import pickle

import numpy as np
import pytest

import digit


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "good.safetensors"
    with digit.Model("compact") as m:
        m.save(path)
    return path


def check(excinfo, path, status):
    e = excinfo.value
    assert str(path) in str(e), str(e)
    assert e.path == str(path)
    assert e.status == status
    assert isinstance(e, digit.DigitError)


def test_missing_model_file(tmp_path):
    path = tmp_path / "missing.safetensors"
    with pytest.raises(FileNotFoundError) as e:
        digit.Model.load(path)
    check(e, path, 2)
    assert isinstance(e.value, digit.DigitFileNotFoundError)
    assert e.value.filename == str(path)
    assert "No such file" in str(e.value)


def test_model_path_is_a_directory(tmp_path):
    with pytest.raises(IsADirectoryError) as e:
        digit.Model.load(tmp_path)
    check(e, tmp_path, 2)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "header", "empty", "png"])
def test_corrupt_model_files(tmp_path, model_file, damage):
    data = model_file.read_bytes()
    bad = tmp_path / f"{damage}.safetensors"
    if damage == "truncated":
        bad.write_bytes(data[:len(data) // 2])
    elif damage == "garbage":
        bad.write_bytes(bytes(range(256)) * 10)
    elif damage == "header":
        n = int.from_bytes(data[:8], "little")
        header = data[8:8 + n].replace(b'"F32"', b'"F64"', 1)
        bad.write_bytes(data[:8] + header + data[8 + n:])
    elif damage == "empty":
        bad.write_bytes(b"")
    elif damage == "png":
        digit.save_png(bad, np.zeros((28, 28), np.uint8))
    with pytest.raises(digit.FormatError) as e:
        digit.Model.load(bad)
    check(e, bad, 3)
    assert isinstance(e.value, ValueError)
    with pytest.raises(digit.FormatError, match="<memory>"):
        digit.Model.from_bytes(bad.read_bytes() or b"\0")


def test_save_into_missing_folder(tmp_path):
    path = tmp_path / "no" / "such" / "folder" / "m.safetensors"
    with digit.Model("compact") as m, pytest.raises(OSError) as e:
        m.save(path)
    check(e, path, 2)


def test_png_errors(tmp_path):
    missing = tmp_path / "missing.png"
    with pytest.raises(FileNotFoundError) as e:
        digit.load_image(missing)
    check(e, missing, 2)
    with pytest.raises(IsADirectoryError):
        digit.load_image(tmp_path)
    text = tmp_path / "not-a-png.png"
    text.write_text("this is text, not a picture\n")
    with pytest.raises(digit.FormatError) as e:
        digit.load_image(text)
    check(e, text, 3)
    blank = tmp_path / "blank.png"
    digit.save_png(blank, np.zeros((28, 28), np.uint8))
    with pytest.raises(digit.ImageError, match="no ink") as e:
        digit.load_image(blank)
    check(e, blank, 6)
    with digit.Model("compact") as m, pytest.raises(digit.ImageError):
        m.classify_image(blank)
    with pytest.raises(digit.ImageError):
        digit.preprocess(np.full((10, 10), 200, np.uint8))
    with pytest.raises(digit.DigitError):
        digit.decode_image(b"not a png")
    with pytest.raises(OSError) as e:
        digit.save_png(tmp_path / "none" / "x.png", np.zeros((28, 28), np.uint8))
    assert "none" in str(e.value)


def test_dataset_errors(tmp_path, mnist_dir):
    images = mnist_dir / "t10k-images-idx3-ubyte"
    labels = mnist_dir / "t10k-labels-idx1-ubyte"
    missing = tmp_path / "missing-labels"
    with pytest.raises(FileNotFoundError) as e:
        digit.Dataset.load(images, missing)
    check(e, missing, 2)  # the exception names the file at fault
    with pytest.raises(digit.FormatError, match="expected image file") as e:
        digit.Dataset.load(labels, images)  # swapped
    check(e, labels, 3)
    truncated = tmp_path / "truncated-images"
    truncated.write_bytes(images.read_bytes()[:5000])
    with pytest.raises(digit.FormatError, match="truncated") as e:
        digit.Dataset.load(truncated, labels)
    check(e, truncated, 3)
    with pytest.raises(digit.FormatError, match="holds 10000 images but"):
        digit.Dataset.load(images, mnist_dir / "train-labels-idx1-ubyte")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        digit.Dataset.mnist(empty_dir)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        digit.Dataset.mnist(tmp_path / "nothing-here")
    with pytest.raises(TypeError):
        digit.Dataset.load(b"bytes path", labels)
    with pytest.raises(ValueError, match="empty"):
        digit.Model.load("")


def test_exceptions_pickle(tmp_path):
    path = tmp_path / "missing.safetensors"
    with pytest.raises(digit.DigitError) as e:
        digit.Model.load(path)
    again = pickle.loads(pickle.dumps(e.value))
    assert type(again) is type(e.value) and str(again) == str(e.value)
    assert again.status == 2 and again.path == str(path)
