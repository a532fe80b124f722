"""The embedded page and OpenAPI document match their sources."""
import json
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
