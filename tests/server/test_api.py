# SPDX-License-Identifier: MIT
"""digitc-serve's HTTP API: answers, refusals and limits. Every response,
errors included, is validated against docs/openapi.json."""
import base64
import json
import signal
import socket
import subprocess
import time

import numpy as np
import openapi_schema_validator
import pytest

from conftest import SPEC_PATH, Server, concurrently, encode, server_binary, wait_until

HEAVY_SIDE = 2800  # an enlarged digit that takes a debug build ~0.3 s to preprocess


def first_of_each_digit(images, labels):
    return [(d, images[int(np.argmax(labels == d))]) for d in range(10)]


def test_classify_png(server, check, mnist_test):
    images, labels = mnist_test
    right = 0
    for digit, pixels in first_of_each_digit(images, labels):
        r = check(server.post("/v1/classify", data=encode(pixels), headers={"Content-Type": "image/png"}))
        assert r.status_code == 200
        body = r.json()
        assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-3
        assert len(body["top"]) == 3 and body["top"][0]["digit"] == body["digit"]
        assert body["confidence"] == max(body["probabilities"])
        assert body["unsure"] is False and body["warnings"] == []
        assert len(body["input"]) == 28 and all(len(row) == 28 for row in body["input"])
        right += body["digit"] == digit
    assert right >= 9


def test_classify_jpeg(server, check, mnist_test):
    images, labels = mnist_test
    for digit, pixels in first_of_each_digit(images, labels)[:3]:
        r = check(server.post("/v1/classify", data=encode(pixels, "JPEG"), headers={"Content-Type": "image/jpeg"}))
        assert r.status_code == 200, r.text
        assert r.json()["digit"] == digit


def test_jpeg_refusal_is_documented(server, check, mnist_test):
    # Whatever this build does with JPEG, the answer is in the schema.
    images, _ = mnist_test
    r = check(server.post("/v1/classify", data=encode(images[0], "JPEG"), headers={"Content-Type": "image/jpeg"}))
    assert r.status_code in (200, 415)


def test_classify_json_pixels_and_base64(server, check, mnist_test):
    images, labels = mnist_test
    pixels = images[0].tolist()
    r = check(server.post("/v1/classify?top=5&min_confidence=0.5", json={"pixels": pixels}))
    assert r.status_code == 200
    body = r.json()
    assert body["digit"] == labels[0] and len(body["top"]) == 5
    assert body["input"] == pixels  # pixels are used as given
    b64 = base64.b64encode(encode(images[1])).decode()
    r = check(server.post("/v1/classify", json={"image": b64}))
    assert r.status_code == 200 and r.json()["digit"] == labels[1]


def test_min_confidence_marks_unsure(server, check, mnist_test):
    images, _ = mnist_test
    r = check(server.post("/v1/classify?min_confidence=1", json={"pixels": images[0].tolist()}))
    body = r.json()
    assert body["unsure"] is (body["confidence"] < 1)


def test_batch(server, check, mnist_test):
    images, labels = mnist_test
    items = [{"pixels": images[i].tolist()} for i in range(20)]
    items.append({"image": base64.b64encode(encode(images[20])).decode()})
    items.append({"image": base64.b64encode(b"not an image").decode()})
    items.append({"pixels": [[0] * 27] * 28})
    items.append({})
    r = check(server.post("/v1/classify/batch", json={"images": items}))
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == len(items)
    assert sum(results[i]["digit"] == labels[i] for i in range(21)) >= 20
    assert [results[i]["error"]["kind"] for i in (21, 22, 23)] == ["format", "argument", "request"]
    assert all(results[i]["error"]["status"] == 400 for i in (21, 22, 23))


def test_batch_limits(server, check):
    pixels = [[0] * 28] * 28
    r = check(server.post("/v1/classify/batch", json={"images": [{"pixels": pixels}] * 65}))
    assert r.status_code == 413 and "64" in r.json()["error"]["message"]
    r = check(server.post("/v1/classify/batch", json={"images": []}))
    assert r.status_code == 400
    r = check(server.post("/v1/classify/batch", data=b"\x89PNG", headers={"Content-Type": "image/png"}))
    assert r.status_code == 415


@pytest.mark.parametrize("name, body, content_type, status, kind", [
    ("empty", b"", "image/png", 400, "request"),
    ("garbage", b"hello, world" * 10, "image/png", 400, "format"),
    ("wrong type", b"x", "text/plain", 415, "media-type"),
    ("no type", b"x", None, 415, "media-type"),
    ("bad JSON", b"{\"image\": ", "application/json", 400, "request"),
    ("JSON of the wrong shape", b"{\"pixels\": \"many\"}", "application/json", 400, "request"),
    ("both fields", b"{\"image\": \"AA==\", \"pixels\": []}", "application/json", 400, "request"),
    ("pixel out of range", json.dumps({"pixels": [[300] * 28] * 28}).encode(), "application/json", 400, "argument"),
    ("bad base64", b"{\"image\": \"***\"}", "application/json", 400, "request"),
])
def test_bad_bodies(server, check, name, body, content_type, status, kind):
    headers = {"Content-Type": content_type} if content_type else {}
    r = server.post("/v1/classify", data=body, headers=headers)
    if content_type is None:
        # requests adds no Content-Type for bytes; the schema has none to match.
        openapi_schema_validator.validate(r.json(), json.loads(SPEC_PATH.read_text())["components"]["schemas"]["Error"])
    else:
        check(r)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["error"] == {"status": status, "kind": kind, "message": r.json()["error"]["message"]}
    assert r.json()["error"]["message"]


def test_truncated_png(server, check, mnist_test):
    images, _ = mnist_test
    png = encode(images[3])
    for cut in (8, 40, len(png) // 2, len(png) - 10):
        r = check(server.post("/v1/classify", data=png[:cut], headers={"Content-Type": "image/png"}))
        assert r.status_code == 400 and r.json()["error"]["kind"] == "format", (cut, r.text)


def test_blank_image_has_no_ink(server, check):
    blank = encode(np.zeros((28, 28), np.uint8))
    r = check(server.post("/v1/classify", data=blank, headers={"Content-Type": "image/png"}))
    assert r.status_code == 400 and r.json()["error"]["kind"] == "image"


def test_oversized_body(server, check):
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (8 * 1024 * 1024 + 1)
    r = check(server.post("/v1/classify", data=big, headers={"Content-Type": "image/png"}))
    assert r.status_code == 413 and r.json()["error"]["kind"] == "too-large"


def test_oversized_chunked_body(server, check):
    # No Content-Length: the limit is enforced while the body streams in.
    def chunks():
        for _ in range(9):
            yield b"\0" * (1024 * 1024)
    r = check(server.post("/v1/classify", data=chunks(), headers={"Content-Type": "image/png"}))
    assert r.status_code == 413


def test_model_health_spec_and_page(server, check):
    r = check(server.get("/v1/model"))
    assert r.status_code == 200
    body = r.json()
    assert body["architecture"] == "strong" and body["parameters"] == 168586
    assert body["layers"][0]["name"] == "conv1" and "test_accuracy" in body["metadata"]
    assert check(server.get("/healthz")).json() == {"status": "ok"}
    spec = check(server.get("/openapi.json"))
    assert spec.json() == json.loads(SPEC_PATH.read_text())
    page = check(server.get("/"))
    assert page.headers["Content-Type"].startswith("text/html") and "<canvas" in page.text
    assert "https://" not in page.text  # nothing loads from elsewhere
    for asset in ("/app.js", "/style.css"):
        r = server.get(asset)
        assert r.status_code == 200 and "https://" not in r.text


def test_unknown_paths_answer_json(server):
    error_schema = json.loads(SPEC_PATH.read_text())["components"]["schemas"]["Error"]
    for method, path in (("GET", "/nope"), ("GET", "/v1/classify"), ("DELETE", "/v1/model")):
        r = server.session.request(method, server.url + path, timeout=10)
        assert r.status_code in (404, 405)
        openapi_schema_validator.validate(r.json(), error_schema)


def test_concurrent_requests(server, check, mnist_test):
    images, labels = mnist_test
    bodies = [encode(images[i]) for i in range(32)]
    results = concurrently(32, lambda i: server.post("/v1/classify", data=bodies[i], headers={"Content-Type": "image/png"}))
    assert all(not isinstance(r, Exception) for r in results), results
    for r in results:
        check(r)
    assert all(r.status_code == 200 for r in results)
    assert sum(r.json()["digit"] == labels[i] for i, r in enumerate(results)) >= 30


def test_full_queue_answers_503(check, mnist_test):
    images, _ = mnist_test
    s = Server("--threads", "1", "--queue", "1")
    try:
        heavy = encode(images[0], side=HEAVY_SIDE)
        results = concurrently(8, lambda i: s.post("/v1/classify", data=heavy, headers={"Content-Type": "image/png"}))
        statuses = sorted(r.status_code for r in results)
        assert statuses.count(200) >= 2 and 503 in statuses, statuses
        for r in results:
            check(r)
            if r.status_code == 503:
                assert r.headers["Retry-After"] == "1" and r.json()["error"]["kind"] == "busy"
    finally:
        assert s.stop() == 0


def read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def test_slow_body_times_out(check_raw):
    s = Server("--timeout", "1")
    try:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=15)
        sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     b"Content-Length: 1000\r\n\r\n\x89PNG")  # and then nothing
        start = time.monotonic()
        status, headers, body = read_response(sock)
        elapsed = time.monotonic() - start
        assert status == 408 and 0.8 < elapsed < 5, (status, elapsed)
        assert json.loads(body)["error"]["kind"] == "timeout"
        check_raw("POST", "/v1/classify", status, body, headers)
        sock.close()
        assert s.get("/healthz").status_code == 200  # and the server goes on
    finally:
        assert s.stop() == 0


def test_queue_wait_times_out(check, mnist_test):
    images, _ = mnist_test
    s = Server("--threads", "1", "--timeout", "0.5", "--queue", "50")
    try:
        heavy = encode(images[0], side=HEAVY_SIDE)
        results = concurrently(8, lambda i: s.post("/v1/classify", data=heavy, headers={"Content-Type": "image/png"}))
        kinds = [r.json().get("error", {}).get("kind") for r in results]
        for r in results:
            check(r)
        assert kinds.count(None) >= 1 and "timeout" in kinds, kinds
        assert all(r.headers.get("Retry-After") == "1" for r in results if r.status_code == 503)
    finally:
        assert s.stop() == 0


def test_graceful_shutdown_finishes_requests_in_flight(check, mnist_test):
    images, labels = mnist_test
    s = Server("--threads", "1")
    heavy = encode(images[0], side=HEAVY_SIDE)

    def request(i):
        if i == 0:  # the signaller: waits until the others are in (each takes ~0.3 s, one at a time)
            time.sleep(0.5)
            s.process.send_signal(signal.SIGTERM)
            return None
        return s.post("/v1/classify", data=heavy, headers={"Content-Type": "image/png"})

    results = concurrently(5, request)
    code = s.process.wait(30)
    stdout = s.process.stdout.read()
    assert code == 0
    for r in results[1:]:
        assert not isinstance(r, Exception), r
        check(r)
        assert r.status_code == 200 and r.json()["digit"] == labels[0]
    assert "stopped" in stdout
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), timeout=2)
    s.stop()


def run_server(*args, timeout=30):
    return subprocess.run([str(server_binary()), *args], capture_output=True, text=True, timeout=timeout)


def test_port_in_use_exits_2(server):
    r = run_server("--port", str(server.port))
    assert r.returncode == 2
    assert f"port {server.port}" in r.stderr and "in use" in r.stderr


def test_bad_model_refuses_to_start(tmp_path):
    r = run_server("--model", str(tmp_path / "missing.safetensors"))
    assert r.returncode == 2 and "missing.safetensors" in r.stderr
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"{\"not\": \"a model\"}")
    r = run_server("--model", str(corrupt))
    assert r.returncode == 2 and "corrupt.safetensors" in r.stderr


def test_usage_errors_exit_1():
    for args in (["--threads", "0"], ["--port", "70000"], ["--frobnicate"]):
        r = run_server(*args)
        assert r.returncode == 1 and r.stderr.startswith("digitc-serve: error:"), (args, r.stderr)


def test_digitc_serve_forwards(tmp_path):
    digitc = server_binary().parent / "digitc"
    r = subprocess.run([str(digitc), "serve", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "--max-body" in r.stdout and "digitc-serve" in r.stdout
