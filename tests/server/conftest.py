# SPDX-License-Identifier: MIT
"""Fixtures for the digitc-serve tests: a server on a free port, MNIST
digits as PNG and JPEG files, and validation of every response against
docs/openapi.json with openapi-core."""
import io
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.testing import MockRequest, MockResponse
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "docs/openapi.json"


def server_binary() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("DIGITC_SERVE", ROOT / ".build/debug/digitc-serve"))
    if not path.exists():
        pytest.fail(f"{path} is missing: run `swift build` first or set DIGITC_SERVE")
    return path


class Server:
    """digitc-serve started with `args` on a free port (--port 0)."""

    def __init__(self, *args: str, env: dict | None = None):
        self.process = subprocess.Popen(
            [str(server_binary()), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})})
        self.first_line = self.process.stdout.readline()
        if "listening on http://" not in self.first_line:
            self.process.kill()
            raise RuntimeError(f"digitc-serve did not start: {self.first_line!r} {self.process.stderr.read()}")
        self.url = self.first_line.split("listening on ")[1].split()[0].rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])
        # Tests talk to loopback only; ignore any proxy settings.
        self.session = requests.Session()
        self.session.trust_env = False

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.url + path, timeout=60, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.url + path, timeout=60, **kwargs)

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        finally:
            self.process.kill()
            self.process.stdout.close()
            self.process.stderr.close()


@pytest.fixture(scope="module")
def server():
    s = Server("--threads", "2")
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="session")
def api() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_PATH))


@pytest.fixture(scope="session")
def check(api):
    """Validates a requests response against the OpenAPI document (raises
    on any mismatch: status not documented, body not matching the schema)
    and returns it."""
    def validate(response: requests.Response) -> requests.Response:
        request = response.request
        if not isinstance(request.body, (bytes, str, type(None))):
            request = request.copy()  # a streamed body: only its route matters here
            request.body = b""
        api.validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response))
        return response
    return validate


@pytest.fixture(scope="session")
def check_raw(api):
    """The same for a response read off a raw socket."""
    def validate(method: str, path: str, status: int, body: bytes, headers: dict) -> None:
        request = MockRequest("http://127.0.0.1", method.lower(), path, content_type="image/png")
        response = MockResponse(body, status_code=status, headers=headers,
                                content_type=headers.get("content-type", "application/json"))
        api.validate_response(request, response)
    return validate


def mnist_dir() -> pathlib.Path:
    if os.environ.get("DIGIT_DATA"):
        return pathlib.Path(os.environ["DIGIT_DATA"])
    out = subprocess.run([sys.executable, str(ROOT / "scripts/fetch_mnist.py"), "--quiet"],
                         check=True, capture_output=True, text=True)
    return pathlib.Path(out.stdout.strip())


@pytest.fixture(scope="session")
def mnist_test():
    """The MNIST test images (10000 x 28 x 28, ink bright) and labels."""
    d = mnist_dir()
    images = np.frombuffer((d / "t10k-images-idx3-ubyte").read_bytes()[16:], np.uint8).reshape(-1, 28, 28)
    labels = np.frombuffer((d / "t10k-labels-idx1-ubyte").read_bytes()[8:], np.uint8)
    return images, labels


def encode(pixels: np.ndarray, fmt: str = "PNG", side: int = 112) -> bytes:
    """An MNIST digit as a user's file: dark ink on white paper, enlarged."""
    image = Image.fromarray(255 - pixels).resize((side, side), Image.BILINEAR)
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def concurrently(count: int, call):
    """Runs call(i) for i in range(count) on as many threads, released
    together, and returns the results in order."""
    results = [None] * count
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        try:
            results[i] = call(i)
        except Exception as error:  # reported by the test's asserts
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def wait_until(predicate, timeout: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
