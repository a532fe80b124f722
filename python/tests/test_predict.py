# SPDX-License-Identifier: MIT
"""Inference entry points and the validation of the arrays handed to them."""

import threading

import numpy as np
import pytest

import digit


@pytest.fixture(scope="module")
def model(trained_model_path):
    with digit.Model.load(trained_model_path("compact")) as m:
        yield m


def test_shapes_and_dtypes_agree(model, test_images):
    x = test_images[:12]
    p = model.predict(x)
    assert p.shape == (12, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(model.predict(x.reshape(12, 784)), p)
    np.testing.assert_array_equal(model.predict(x.reshape(12, 1, 28, 28)), p)
    # (results may differ in the last bit with the batch size: BLAS blocking)
    np.testing.assert_allclose(model.predict(x[3]), p[3:4], atol=1e-6)
    np.testing.assert_array_equal(model.predict(x[3].reshape(784)), model.predict(x[3]))
    # float pixels in 0..1 give the same answer as uint8 0..255
    np.testing.assert_allclose(model.predict(x.astype(np.float32) / 255), p, atol=1e-6)
    np.testing.assert_allclose(model.predict(x / 255.0), p, atol=1e-6)
    # non-contiguous views are fine
    np.testing.assert_array_equal(model.predict(test_images[:24:2]), model.predict(
        np.ascontiguousarray(test_images[:24:2])))
    np.testing.assert_array_equal(model.predict(np.asfortranarray(x[0])), model.predict(x[0]))


def test_log_probabilities_and_classify(model, test_images, test_set):
    x = test_images[:50]
    p = model.predict(x)
    lp = model.predict(x, log=True)
    np.testing.assert_allclose(np.exp(lp), p, rtol=1e-5, atol=1e-7)
    labels = model.classify(x)
    assert labels.shape == (50,) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, p.argmax(axis=1))
    assert (labels == test_set.labels[:50]).mean() > 0.5  # it did learn something


def test_empty_batch(model):
    assert model.predict(np.zeros((0, 28, 28), np.uint8)).shape == (0, 10)
    assert model.classify(np.zeros((0, 784), np.float32)).shape == (0,)


@pytest.mark.parametrize("bad, exc, match", [
    (np.zeros((28, 28), np.int64), TypeError, "uint8"),
    (np.zeros((28, 28), np.bool_), TypeError, "uint8"),
    (np.zeros((28, 28), np.float16), TypeError, "float32"),
    # 2-D arrays that are not MNIST-shaped are pictures to preprocess.
    (np.zeros((28, 27), np.uint8), digit.ImageError, "no ink"),
    (np.zeros((2, 3, 28, 28), np.uint8), ValueError, "shape"),
    (np.zeros((5, 785), np.uint8), digit.ImageError, "no ink"),
    (np.zeros(100, np.float32), ValueError, "shape"),
    (np.full((28, 28), np.nan, np.float32), ValueError, "NaN"),
    (np.full((2, 28, 28), np.inf), ValueError, "NaN or infinity"),
    (np.full((28, 28), 255.0, np.float32), ValueError, "0..1"),
    (np.full((28, 28), -0.1), ValueError, "0..1"),
    ([[0] * 28] * 28, TypeError, "uint8"),
    (object(), TypeError, "numpy array"),
])
def test_bad_arrays_are_refused(model, bad, exc, match):
    with pytest.raises(exc, match=match):
        model.predict(bad)
    with pytest.raises(exc, match=match):
        model.classify(bad)


def test_concurrent_predictions_agree(model, test_images):
    x = test_images[:64]
    want = model.predict(x)
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(model.predict(x))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 20
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_evaluate(model, test_set):
    ev = model.evaluate(test_set)
    assert ev.count == len(test_set)
    assert ev.confusion.shape == (10, 10) and ev.confusion.sum() == ev.count
    assert ev.accuracy == pytest.approx(np.trace(ev.confusion) / ev.count)
    np.testing.assert_array_equal(ev.confusion.sum(axis=1),
                                  np.bincount(test_set.labels, minlength=10))
    # loss: the mean negative log-likelihood of the true labels
    lp = model.predict(test_set.images, log=True)
    nll = -lp[np.arange(len(test_set)), test_set.labels].mean()
    assert ev.loss == pytest.approx(nll, rel=1e-5)
    with pytest.raises(TypeError):
        model.evaluate(test_set.images)


def test_png_round_trip(model, png_digits, tmp_path):
    path, label = png_digits[0]
    img = digit.load_image(path)
    assert img.shape == (28, 28) and img.dtype == np.uint8 and img.max() == 255
    d, p = model.classify_image(path)
    assert isinstance(d, int) and p.shape == (10,)
    assert d == int(np.argmax(p))
    np.testing.assert_array_equal(p, model.predict(img)[0])
    np.testing.assert_array_equal(digit.decode_image(path.read_bytes()), img)
    # preprocessing a decoded picture: either polarity, any size
    for gray in (img, 255 - np.pad(img, ((3, 5), (10, 0)))):
        pre = digit.preprocess(gray)
        assert pre.shape == (28, 28) and pre.dtype == np.uint8 and pre.max() == 255
    # save_png also takes 0..1 floats, and any size
    digit.save_png(tmp_path / "f.png", np.linspace(0, 1, 40 * 30).reshape(30, 40))
    with pytest.raises(ValueError):
        digit.save_png(tmp_path / "g.png", np.zeros((0, 3), np.uint8))
    with pytest.raises(TypeError):
        digit.save_png(tmp_path / "g.png", np.zeros((3, 3), np.int32))


def test_inference_threads(model, test_images):
    x = test_images[:200]
    before = digit.threads()
    assert before >= 1
    try:
        digit.set_threads(1)
        assert digit.threads() == 1
        one = model.predict(x)
        digit.set_threads(3)
        assert digit.threads() == 3
        three = model.predict(x)
        digit.set_threads(0)
        assert digit.threads() >= 1
    finally:
        digit.set_threads(0)
    np.testing.assert_allclose(one, three, atol=1e-6)
    np.testing.assert_array_equal(one.argmax(1), three.argmax(1))
    with pytest.raises(ValueError):
        digit.set_threads(-1)
