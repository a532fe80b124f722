"""The package as a user meets it: the shipped model with no set-up, PNG
paths and PIL images as input, `python -m digit`, and a Model shared
between threads while one of them closes it."""

import subprocess
import sys
import threading

import numpy as np
import pytest

import digit
from conftest import REPO, package_env

SEVEN = REPO / "samples" / "digit-7.png"


def test_default_model_classifies_a_path():
    with digit.Model.default() as m:
        assert m.arch == "basic"
        assert m.classify(str(SEVEN)) == 7
        assert m.classify(SEVEN) == 7
        p = m.predict(SEVEN)
        assert p.shape == (10,) and int(p.argmax()) == 7


def test_default_model_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGIT_MODEL", str(tmp_path / "gone.safetensors"))
    with pytest.raises(digit.DigitFileNotFoundError, match="gone.safetensors"):
        digit.Model.default()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P"])
def test_pil_images(mode, png_digits):
    Image = pytest.importorskip("PIL.Image")
    path, label = png_digits[0]
    with Image.open(path) as im:
        picture = im.convert(mode)
    with digit.Model.default() as m:
        want = m.classify(digit.load_png(path))[0]
        assert m.classify(picture) == want
        assert m.predict(picture).shape == (10,)
    assert digit.preprocess(picture).shape == (28, 28)


def test_ink_only_in_alpha_is_seen():
    Image = pytest.importorskip("PIL.Image")
    gray = np.asarray(Image.open(SEVEN).convert("L"))
    rgba = np.zeros(gray.shape + (4,), np.uint8)
    rgba[..., 3] = 255 - gray  # black ink where the drawing is dark; clear paper
    with digit.Model.default() as m:
        assert m.classify(Image.fromarray(rgba, "RGBA")) == 7


def run_module(*args, **env):
    return subprocess.run([sys.executable, "-m", "digit", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=package_env(**env))


def test_python_m_digit_classify(tmp_path):
    r = run_module("classify", SEVEN, tmp_path / "missing.png")
    assert r.returncode == 2
    assert r.stdout.startswith(f"{SEVEN}: 7 (")
    assert "missing.png" in r.stderr and "Traceback" not in r.stderr


def test_python_m_digit_fetch_verifies(mnist_dir):
    r = run_module("fetch", "--dir", mnist_dir)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == str(mnist_dir)
    assert "all files present and verified" in r.stderr


RACES = 10_000


def test_close_during_predict_never_crashes(test_images):
    """close() on one thread while another predicts: each call returns a
    result or raises ClosedError, never touches freed memory."""
    x = test_images[:1]
    outcomes = {"result": 0, "closed": 0}
    for _ in range(RACES):
        m = digit.Model("compact", seed=1)
        start = threading.Barrier(2)

        def predict():
            start.wait()
            try:
                p = m.predict(x)
                assert p.shape == (1, 10) and abs(float(p.sum()) - 1) < 1e-4
                outcomes["result"] += 1
            except digit.ClosedError:
                outcomes["closed"] += 1

        t = threading.Thread(target=predict)
        t.start()
        start.wait()
        m.close()
        t.join()
        assert m.closed
    assert sum(outcomes.values()) == RACES
    # Both orders happen; the point is that nothing else ever does.
    assert outcomes["closed"] > 0


def test_closed_model_refuses_every_call():
    m = digit.Model("compact")
    m.close()
    m.close()
    for call in (lambda: m.arch, lambda: m.predict(np.zeros((28, 28), np.uint8)),
                 lambda: m.state_dict(), lambda: m.metadata, lambda: m.save("x")):
        with pytest.raises(digit.ClosedError, match="closed"):
            call()


def test_version_attribute():
    assert digit.__version__ == digit.version()
