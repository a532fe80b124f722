# SPDX-License-Identifier: MIT
"""Shared fixtures for the libdigit Python binding tests.

The package under test is python/digit (pyproject.toml puts python/ on
sys.path for pytest), or an installed one that comes first on sys.path.

Environment:
    DIGIT_LIBRARY  libdigit.so to test (default: the package's loader order:
                   bundled copy, then <repo>/build/libdigit.so)
    DIGIT_DATA     folder with the MNIST IDX files (default: whatever
                   scripts/fetch_mnist.py --quiet prints)
    DIGITC         the digitc executable (default: <repo>/.build/{debug,release}/digitc)
"""

import os
from pathlib import Path

import numpy as np
import pytest

import digit

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"
EXAMPLES_DIR = PYTHON_DIR / "examples"



def package_env(**extra: str) -> dict:
    """The environment for a child Python that imports the package under
    test as an installed one would be imported (no sys.path edits)."""
    path = os.pathsep.join(p for p in (str(PYTHON_DIR), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


# Small, fixed slices keep the suite fast; the numbers of images below are
# enough for every check that is not about accuracy.
TRAIN_IMAGES = 2000
TEST_IMAGES = 500


@pytest.fixture(scope="session", autouse=True)
def lib():
    """The loaded libdigit; a missing library fails every test, loudly."""
    try:
        return digit.load_library()
    except digit.LibraryError as e:
        problem = str(e)
    pytest.fail(f"{problem}\n\nThe Python tests need the C library: run "
                f"`make -j2 all` in {REPO} (or set DIGIT_LIBRARY).", pytrace=False)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    try:
        return digit.mnist_dir()
    except digit.DigitError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def train_set(mnist_dir):
    with digit.Dataset.mnist(mnist_dir, train=True) as full:
        return full.slice(0, TRAIN_IMAGES)


@pytest.fixture(scope="session")
def test_set(mnist_dir):
    with digit.Dataset.mnist(mnist_dir, train=False) as full:
        return full.slice(0, TEST_IMAGES)


@pytest.fixture(scope="session")
def test_images(test_set) -> np.ndarray:
    return test_set.images


@pytest.fixture(scope="session")
def trained_model_path(tmp_path_factory, train_set):
    """preset -> path of a model trained for one epoch on TRAIN_IMAGES images."""
    cache = {}

    def get(preset: str) -> Path:
        if preset not in cache:
            path = tmp_path_factory.mktemp("models") / f"{preset}.safetensors"
            with digit.Model(preset, seed=7) as m:
                # compact learns slowly at its default rate; 0.003 makes one
                # short epoch enough for a model that clearly prefers a digit
                m.train(train_set, epochs=1, seed=3,
                        lr=0.003 if preset == "compact" else 0.001)
                m.metadata["trained_with"] = "pytest"
                m.save(path)
            cache[preset] = path
        return cache[preset]

    return get


@pytest.fixture(scope="session")
def png_digits(tmp_path_factory, test_set):
    """A few MNIST test digits written as PNG files: [(path, label)]."""
    folder = tmp_path_factory.mktemp("png")
    out = []
    images, labels = test_set.images, test_set.labels
    for i in range(8):
        path = folder / f"digit{i}_{labels[i]}.png"
        digit.save_png(path, images[i])
        out.append((path, int(labels[i])))
    return out
