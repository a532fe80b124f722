# SPDX-License-Identifier: MIT
"""Training: progress callbacks, cancellation, exceptions, determinism, resume."""

import math

import numpy as np
import pytest

import digit


@pytest.fixture(scope="module")
def small(train_set):
    with train_set.slice(0, 640) as ds:
        yield ds


def weights_equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_progress_and_history(small, test_set):
    batches, epochs = [], []
    with digit.Model("compact", seed=1) as m:
        history = m.train(small, test_set, epochs=2, batch_size=100, lr=0.002,
                          milestones=[1], gamma=0.5, threads=1,
                          on_batch=batches.append, on_epoch=epochs.append)
    assert history == epochs and len(history) == 2
    assert len(batches) == 2 * 7  # 640 images in batches of 100
    first, last = batches[0], batches[6]
    assert (first.epoch, first.batch, first.batches_per_epoch) == (1, 1, 7)
    assert first.images_seen == 100 and last.images_seen == 640
    assert first.learning_rate == pytest.approx(0.002)
    assert batches[7].learning_rate == pytest.approx(0.001)  # milestone 1, gamma 0.5
    assert all(math.isfinite(b.loss) and b.loss > 0 for b in batches)
    e1, e2 = history
    assert (e1.epoch, e1.epochs, e2.epoch) == (1, 2, 2)
    assert e1.train_loss == pytest.approx(np.mean([b.loss for b in batches[:7]]), rel=1e-5)
    assert 0 <= e2.test_accuracy <= 1 and e2.test_loss > 0 and e2.seconds >= 0
    assert (e1.learning_rate, e2.learning_rate) == (pytest.approx(0.002), pytest.approx(0.001))


def test_without_test_set_metrics_are_nan(small):
    with digit.Model("compact") as m:
        (e,) = m.train(small, epochs=1, batch_size=320)
    assert math.isnan(e.test_loss) and math.isnan(e.test_accuracy)


def test_default_options():
    with digit.Model("compact") as m:
        o = m.train_options()
    base = {k: o[k] for k in ("epochs", "batch_size", "lr", "milestones", "gamma", "seed",
                              "threads")}
    assert base == {"epochs": 10, "batch_size": 64, "lr": 0.001, "milestones": [5, 8],
                    "gamma": 0.01, "seed": 1, "threads": 0}
    assert o["schedule"] == "multistep" and o["betas"] == (0.9, 0.999)
    assert o["augment"] == {"rotate": 0, "scale": 0, "shift": 0, "shear": 0}
    with digit.Model("strong") as m:
        s = m.train_options()
    assert s["schedule"] == "onecycle" and s["augment"]["rotate"] > 0


def test_same_seed_same_weights(small):
    with digit.Model("compact", seed=4) as a, digit.Model("compact", seed=4) as b, \
            digit.Model("compact", seed=4) as c:
        a.train(small, epochs=1, batch_size=64, seed=11, threads=1)
        b.train(small, epochs=1, batch_size=64, seed=11, threads=1)
        c.train(small, epochs=1, batch_size=64, seed=12, threads=1)
        assert weights_equal(a, b)
        assert not weights_equal(a, c)  # another shuffle


@pytest.mark.parametrize("stop", [True, digit.STOP, 1])
def test_callback_cancels(small, test_images, stop):
    calls = []

    def on_batch(p):
        calls.append(p)
        return stop if p.batch == 3 else None

    with digit.Model("compact") as m:
        with pytest.raises(digit.TrainingCancelled, match="cancelled") as e:
            m.train(small, epochs=3, batch_size=64, on_batch=on_batch)
        assert e.value.status == 5
        assert len(calls) == 3
        assert m.predict(test_images[:4]).shape == (4, 10)  # still usable
        m.train(small, epochs=1, batch_size=320)  # and trainable


def test_epoch_callback_cancels(small):
    with digit.Model("compact") as m, \
            pytest.raises(digit.TrainingCancelled, match="after epoch 1") as e:
        m.train(small, epochs=5, batch_size=320, on_epoch=lambda p: digit.STOP)
    assert [p.epoch for p in e.value.history] == [1]


class Boom(Exception):
    pass


@pytest.mark.parametrize("where", ["on_batch", "on_epoch"])
def test_exception_in_callback_stops_and_propagates(small, test_images, where):
    raised = Boom("from the callback")
    calls = []

    def callback(p):
        calls.append(p)
        if len(calls) == 2:
            raise raised

    with digit.Model("compact", seed=2) as m:
        before = m.state_dict()
        with pytest.raises(Boom) as e:
            m.train(small, epochs=4, batch_size=64, **{where: callback})
        assert e.value is raised
        assert len(calls) == 2  # stopped right away
        after = m.state_dict()
        assert not np.array_equal(before["fc1.weight"], after["fc1.weight"])
        p = m.predict(test_images[:4])
        assert p.shape == (4, 10) and np.isfinite(p).all()
        m.train(small, epochs=1, batch_size=320)  # the model still trains


def test_keyboard_interrupt_in_callback(small):
    def on_batch(p):
        raise KeyboardInterrupt

    with digit.Model("compact") as m, pytest.raises(KeyboardInterrupt):
        m.train(small, epochs=1, batch_size=64, on_batch=on_batch)


def test_checkpoint_resume_is_bit_identical(small, tmp_path):
    opts = dict(epochs=2, batch_size=64, seed=5, threads=1)
    with digit.Model("compact", seed=1) as whole:
        whole.train(small, **opts)
        want = whole.state_dict()

    ckpt = tmp_path / "run.ckpt"
    with digit.Model("compact", seed=1) as part:
        with pytest.raises(digit.TrainingCancelled):
            part.train(small, checkpoint=ckpt,
                       on_batch=lambda p: p.epoch == 1 and p.batch == 4, **opts)
    assert ckpt.exists()
    with digit.Model("compact", seed=99) as resumed:  # weights come from the checkpoint
        history = resumed.train(small, resume=ckpt, checkpoint=ckpt, **opts)
        assert [e.epoch for e in history] == [1, 2]
        got = resumed.state_dict()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    # a checkpoint is refused by a run with other options
    with digit.Model("compact") as m, pytest.raises(digit.ArgumentError, match="seed") as e:
        m.train(small, resume=ckpt, **{**opts, "seed": 6})
    assert str(ckpt) in str(e.value)
    with digit.Model("compact") as m, pytest.raises(FileNotFoundError):
        m.train(small, resume=tmp_path / "missing.ckpt", **opts)


def test_read_checkpoint(small, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    with digit.Model("compact", seed=1) as m:
        with pytest.raises(digit.TrainingCancelled):
            m.train(small, checkpoint=ckpt, epochs=2, batch_size=64, seed=7, threads=1,
                    on_batch=lambda p: p.epoch == 2 and p.batch == 3)
    c = digit.read_checkpoint(ckpt)
    assert (c.arch, c.epochs_done, c.batches_done) == ("compact", 1, 3)
    assert c.options["seed"] == 7 and c.options["batch_size"] == 64 and c.options["epochs"] == 2
    with digit.Model(c.arch, seed=1) as resumed:  # its options resume the run
        assert [e.epoch for e in resumed.train(small, resume=ckpt, **c.options)] == [2]
    with pytest.raises(digit.FormatError, match="not a libdigit checkpoint") as e:
        with digit.Model("compact") as plain:
            plain.save(tmp_path / "plain.safetensors")
        digit.read_checkpoint(tmp_path / "plain.safetensors")
    assert "plain.safetensors" in str(e.value)


def test_callbacks_may_read_but_not_modify_the_model(small, test_images):
    seen = []
    with digit.Model("compact") as m:
        def on_batch(p):
            if p.batch == 1:
                seen.append(m.classify(test_images[:2]).shape)  # reading is fine
                with pytest.raises(digit.BusyError, match="being trained"):
                    m.metadata["x"] = "y"
                with pytest.raises(digit.BusyError):
                    m.load_state_dict(m.state_dict())
                with pytest.raises(digit.BusyError, match="already being trained"):
                    m.train(small, epochs=1)
            return p.batch == 2
        with pytest.raises(digit.TrainingCancelled):
            m.train(small, epochs=1, on_batch=on_batch)
    assert seen == [(2,)]


# Range errors come from the library (digit_train_options_check), whose
# message names the option; type errors from Python.
@pytest.mark.parametrize("kwargs, exc", [
    (dict(epochs=0), ValueError),
    (dict(epochs=100001), ValueError),
    (dict(epochs=1.5), TypeError),
    (dict(batch_size=0), ValueError),
    (dict(batch_size=True), TypeError),
    (dict(lr=-0.1), ValueError),
    (dict(lr=float("nan")), ValueError),
    (dict(gamma=0), ValueError),
    (dict(milestones=[3, 2]), ValueError),
    (dict(milestones=[0]), ValueError),
    (dict(milestones=list(range(1, 18))), ValueError),
    (dict(threads=-1), ValueError),
    (dict(seed=2**64), ValueError),
    (dict(on_batch=42), TypeError),
])
def test_bad_options(small, kwargs, exc):
    with digit.Model("compact") as m:
        with pytest.raises(exc) as e:
            m.train(small, **kwargs)
    if isinstance(e.value, digit.ArgumentError):
        name = next(iter(kwargs)).replace("_", " ").replace("lr", "learning rate")
        assert name.split()[0] in str(e.value), str(e.value)


def test_bad_datasets():
    with digit.Model("compact") as m:
        with pytest.raises(TypeError):
            m.train(np.zeros((3, 28, 28), np.uint8))
        with pytest.raises(TypeError):
            m.train(None)


def test_training_learns(trained_model_path, test_set):
    with digit.Model("basic", seed=7) as fresh, \
            digit.Model.load(trained_model_path("basic")) as trained:
        before, after = fresh.evaluate(test_set), trained.evaluate(test_set)
    assert before.accuracy < 0.3
    assert after.accuracy > 0.8 and after.loss < before.loss


def test_augmentation_is_the_library_s_and_deterministic(test_images):
    plain = digit.augment_images(test_images[:4])
    np.testing.assert_array_equal(plain, test_images[:4])  # all off: a copy
    a = digit.augment_images(test_images[:4], epoch=2, seed=3, rotate=15, scale=0.1, shift=0.1)
    b = digit.augment_images(test_images[:4], epoch=2, seed=3, rotate=15, scale=0.1, shift=0.1)
    np.testing.assert_array_equal(a, b)
    assert (a != test_images[:4]).any()
    with pytest.raises(digit.ArgumentError, match="rotate"):
        digit.augment_images(test_images[:1], rotate=500)
