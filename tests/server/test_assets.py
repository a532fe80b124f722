# SPDX-License-Identifier: MIT
"""The embedded page and OpenAPI document match their sources, and digitc's
JSON records match the document's schemas: one schema for both tools."""
import json
import os
import pathlib
import subprocess
import sys

from conftest import ROOT, SPEC_PATH


def test_embedded_assets_are_current():
    r = subprocess.run([sys.executable, str(ROOT / "scripts/embed_web.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_served_files_are_the_sources(server):
    for path, source in (("/", "web/index.html"), ("/app.js", "web/app.js"), ("/style.css", "web/style.css"),
                         ("/openapi.json", "docs/openapi.json")):
        r = server.get(path)
        assert r.status_code == 200 and r.content == (ROOT / source).read_bytes(), path


def test_openapi_document_is_valid():
    from openapi_spec_validator import validate
    validate(json.loads(SPEC_PATH.read_text()))


def schema(name):
    """A component schema of docs/openapi.json with its $refs inlined."""
    components = json.loads(SPEC_PATH.read_text())["components"]["schemas"]

    def inline(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(components[node["$ref"].rsplit("/", 1)[1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node
    return inline(components[name])


def test_digitc_json_is_the_servers_schema(tmp_path):
    """digitc classify/info --json print the records the API documents."""
    import openapi_schema_validator

    digitc = pathlib.Path(os.environ.get("DIGITC", ROOT / ".build/debug/digitc"))
    (tmp_path / "bad.png").write_bytes(b"not a png")
    r = subprocess.run([str(digitc), "classify", "--json", "--top", "2", str(ROOT / "samples"), str(tmp_path / "bad.png")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2  # bad.png
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) >= 2 and "error" in lines[-1]
    for record in lines[:-1]:
        openapi_schema_validator.validate(record, schema("Classification"))
    openapi_schema_validator.validate(lines[-1], schema("Error"))
    info = subprocess.run([str(digitc), "info", "--json"], capture_output=True, text=True, timeout=60)
    openapi_schema_validator.validate(json.loads(info.stdout), schema("ModelInfo"))
