"""The explorer under hostile or odd input: names with '/', bodies Python's JSON reader accepts but JSON does not,
hand-edited annotation files, cross-origin writes from another port or scheme, and a token on non-loopback hosts."""

import http.cookiejar
import json
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest
from benchmarks._synthetic import make_synthetic_results
from fastapi.testclient import TestClient

from scconcepts.app import ANNOTATIONS_JSON, create_app, start_server
from scconcepts.app._security import same_origin
from scconcepts.app._server import host_names

# 4 of the 10 pbmc68k cell types hold a '/'
SLASHED_TYPES = [
    "CD4+/CD25 T Reg",
    "CD4+/CD45RA+/CD25- Naive T",
    "CD4+/CD45RO+ Memory",
    "CD8+/CD45RA+ Naive Cytotoxic",
    "50% of a/../b?#x",
]
SLASHED_GENES = {3: "HLA-A/B", 5: "IGHV3/OR16-9"}


@pytest.fixture(scope="module")
def slashed_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("slashed") / "results"
    return make_synthetic_results(
        out, n_cells=400, n_concepts=20, type_names=SLASHED_TYPES, gene_names=SLASHED_GENES, with_sae=False
    )


def test_names_with_slashes_are_reachable(slashed_dir):
    client = TestClient(create_app(slashed_dir))
    listed = [t["cell_type"] for t in client.get("/api/cell-types").json()]
    assert sorted(listed) == sorted(SLASHED_TYPES)
    for name in SLASHED_TYPES:
        response = client.get(f"/api/cell-types/{quote(name, safe='')}")
        assert response.status_code == 200, name
        assert response.json()["cell_type"] == name
    # planted: gene index j drives concept j
    assert client.get(f"/api/genes/{quote('HLA-A/B', safe='')}").json()["drives"][0]["concept"] == 3
    assert client.get("/api/genes/IGHV3/OR16-9").json()["drives"][0]["concept"] == 5
    assert client.get(f"/api/genes/{quote('HLA-A/C', safe='')}").status_code == 404
    expression = client.get(f"/api/genes/{quote('HLA-A/B', safe='')}/expression")
    assert expression.status_code == 200 and expression.headers["content-type"] == "application/octet-stream"
    assert client.get("/api/genes/G4/expression").status_code == 200
    assert client.get(f"/api/cell-types/{quote('CD4+/CD25', safe='')}").status_code == 404


def test_names_with_slashes_over_real_http(slashed_dir):
    running = start_server(slashed_dir)
    try:
        for name in SLASHED_TYPES[:2]:
            with urllib.request.urlopen(f"{running.url}api/cell-types/{quote(name, safe='')}", timeout=10) as r:
                assert json.loads(r.read())["cell_type"] == name
        with urllib.request.urlopen(f"{running.url}api/genes/HLA-A%2FB", timeout=10) as r:
            assert json.loads(r.read())["gene"] == "HLA-A/B"
    finally:
        running.stop()


@pytest.mark.parametrize(
    "body",
    [
        b'{"confidence": 1e400}',
        b'{"confidence": -1e400}',
        b'{"confidence": NaN}',
        b'{"confidence": Infinity}',
        b'{"label": "\\ud800"}',
        b'{"note": "ok \\udfff"}',
        b'{"label": "x", "\\ud800": 1}',
        b'{"label": "\xff\xfe"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"confidence": 1e20}',
        b'{"confidence": 123456789012345678901234567890}',
        b'{"label": ["a"]}',
        b"not json",
    ],
)
def test_bodies_json_cannot_carry_are_422(fresh_dir, body):
    client = TestClient(create_app(fresh_dir), raise_server_exceptions=False)
    response = client.put("/api/annotations/0", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "detail" in response.json()
    assert not (fresh_dir / ANNOTATIONS_JSON).exists()


def test_valid_unicode_is_kept(fresh_dir):
    client = TestClient(create_app(fresh_dir))
    label = "α-β T cells \U0001f600 / naïve"
    assert client.put("/api/annotations/0", json={"label": label}).status_code == 200
    assert client.get("/api/annotations").json()["0"]["label"] == label
    assert label in client.get("/api/annotations.csv").content.decode("utf-8")


def test_hand_edited_annotations_do_not_break_export(fresh_dir):
    doc = {
        "version": 1,
        "concepts": {
            "3": {"label": "B cell receptor signalling", "interpretable": True},
            "abc": {"label": "not a concept"},
            "-1": {"label": "negative"},
            "7": {"label": "broken \ud800 text", "confidence": "high"},
        },
    }
    (fresh_dir / ANNOTATIONS_JSON).write_text(json.dumps(doc))  # escaped lone surrogate, as an editor may leave it
    client = TestClient(create_app(fresh_dir), raise_server_exceptions=False)
    csv = client.get("/api/annotations.csv")
    assert csv.status_code == 200
    rows = csv.text.strip().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["3", "7"]
    assert client.get("/api/annotations").status_code == 200
    summary = client.get("/api/agreement")
    assert summary.status_code == 200
    assert [r["concept"] for r in summary.json()["rows"]] == [3, 7]


@pytest.mark.parametrize(
    "origin, host, same",
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://localhost:8000", "LOCALHOST:8000", True),
        ("http://127.0.0.1", "127.0.0.1:80", True),
        ("https://example.org", "example.org:443", True),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # another server on this machine
        ("https://127.0.0.1:8000", "127.0.0.1:8000", False),
        ("http://127.0.0.1", "127.0.0.1:8000", False),
        ("http://127.0.0.1:8000", "127.0.0.1", False),
        ("null", "127.0.0.1:8000", False),
        ("file://", "127.0.0.1:8000", False),
        ("http://127.0.0.1:99999", "127.0.0.1:8000", False),
        ("http://[::1]:8000", "[::1]:8000", True),
    ],
)
def test_same_origin_compares_scheme_host_and_port(origin, host, same):
    assert same_origin(origin, "http" if "example" not in host else "https", host) is same


def test_cross_port_write_is_refused(fresh_dir):
    app = create_app(fresh_dir, allowed_hosts=["localhost", "127.0.0.1"])
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    for origin in ("http://127.0.0.1:8001", "https://127.0.0.1:8000", "http://127.0.0.1"):
        assert client.put("/api/annotations/0", json={"label": "x"}, headers={"origin": origin}).status_code == 403
    assert not (fresh_dir / ANNOTATIONS_JSON).exists()
    ok = client.put("/api/annotations/0", json={"label": "x"}, headers={"origin": "http://127.0.0.1:8000"})
    assert ok.status_code == 200


def test_host_names_follow_the_bound_address():
    assert host_names("127.0.0.1") == ["127.0.0.1", "::1", "localhost"]
    assert host_names("192.0.2.7") == ["192.0.2.7"]
    assert host_names("lab-server.example", ["explorer.example"]) == ["explorer.example", "lab-server.example"]
    everywhere = host_names("0.0.0.0")
    assert {"127.0.0.1", "localhost"} <= set(everywhere) and "attacker.example" not in everywhere


def test_token_is_required_and_kept_in_a_cookie(fresh_dir):
    client = TestClient(create_app(fresh_dir, token="s3cret"), base_url="http://127.0.0.1:8000")
    assert client.get("/api/info").status_code == 401
    assert client.get("/").status_code == 401
    assert client.put("/api/annotations/0", json={"label": "x"}).status_code == 401
    assert client.get("/api/info", params={"token": "wrong"}).status_code == 401
    assert client.get("/api/info", headers={"authorization": "token wrong"}).status_code == 401
    assert client.get("/api/info", headers={"authorization": "token s3cret"}).status_code == 200
    assert client.get("/api/info", headers={"authorization": "Bearer s3cret"}).status_code == 200
    first = client.get("/", params={"token": "s3cret", "x": "1"}, follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/?x=1"  # the token leaves the address bar
    assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=Strict" in first.headers["set-cookie"]
    assert client.get("/api/info").status_code == 200  # the cookie carries it from now on
    assert client.put("/api/annotations/0", json={"label": "x"}).status_code == 200


def test_non_loopback_server_asks_for_its_token(slashed_dir):
    running = start_server(slashed_dir, host="0.0.0.0")
    try:
        assert running.token and f"?token={running.token}" in running.url
        base = running.url.split("?")[0]
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{base}api/info", timeout=10)
        assert error.value.code == 401
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(running.url, timeout=10) as response:  # redirected, cookie set
            assert response.status == 200 and b"app.js" in response.read()
        with opener.open(f"{base}api/info", timeout=10) as response:
            assert json.loads(response.read())["n_concepts"] == 20
        rebinding = urllib.request.Request(f"{base}api/info", headers={"Host": "attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as error:
            opener.open(rebinding, timeout=10)
        assert error.value.code == 400
    finally:
        running.stop()
