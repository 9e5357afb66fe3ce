"""Fuzz the explorer: random JSON (and non-JSON) bodies and random path and query values on every route.

Whatever arrives, the server answers with a 2xx/3xx/4xx status, never a 500, and the annotations it
keeps stay valid JSON that the explorer can read back and export. Routes are read from the app, so
routes added later are fuzzed too. Examples are derandomised: CI runs the same ones every time.
"""

import json
import re
from urllib.parse import quote

import pytest
from benchmarks._synthetic import make_synthetic_results
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from scconcepts.app import ANNOTATIONS_JSON, Annotation, create_app

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given, settings, HealthCheck = hypothesis.given, hypothesis.settings, hypothesis.HealthCheck

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# text with lone surrogates, control characters, RTL marks, astral characters...
text = st.text(
    st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from("/%?#&=\\.\x00\u202e")),
    max_size=40,
)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 5, 6, -1, 3.0, 1e400, 2**63]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4))
annotation_like = st.fixed_dictionaries(
    {}, optional={"label": values, "note": values, "confidence": values, "interpretable": values, "extra": values}
)


def encode(value) -> bytes:
    """JSON as Python writes it: NaN, Infinity and escaped lone surrogates included (all invalid for the server)."""
    return json.dumps(value, allow_nan=True).encode("ascii")


bodies = st.one_of(annotation_like.map(encode), values.map(encode), st.binary(max_size=300))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    folder = make_synthetic_results(
        tmp_path_factory.mktemp("fuzz") / "results", n_cells=300, n_concepts=12, n_types=3, k=3, with_sae=False
    )
    guard = create_app(folder)
    return folder, guard, TestClient(guard, raise_server_exceptions=False)


def _still_readable(folder, client) -> None:
    for url in ("/api/annotations", "/api/annotations.csv", "/api/agreement", "/api/concepts"):
        assert client.get(url).status_code == 200, url
    path = folder / ANNOTATIONS_JSON
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))["concepts"]
        for record in stored.values():
            Annotation.model_validate({k: v for k, v in record.items() if k != "updated"})


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@FUZZ
@given(cid=st.one_of(st.integers(-5, 20), st.sampled_from(["x", "1.5", "%20", "0x1", "١"])), body=bodies)
def test_annotation_bodies_never_500(fuzz_app, cid, body):
    folder, _, client = fuzz_app
    url = f"/api/annotations/{quote(str(cid), safe='')}"
    response = client.put(url, content=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 404, 413, 422), (body, response.status_code, response.text)
    if response.status_code == 200:  # what was sent is what is kept
        sent = {k: v for k, v in json.loads(body).items() if k in Annotation.model_fields}
        saved = client.get("/api/annotations").json()[str(cid)]
        assert {k: saved[k] for k in sent} == sent
    _still_readable(folder, client)


def _quote(value: str) -> str:
    return quote(value, safe="", errors="surrogatepass")  # a lone surrogate travels as invalid UTF-8


def _routes(guard) -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in guard.app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
        if method != "HEAD"
    )


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@FUZZ
@given(data=st.data())
def test_every_route_survives_random_paths_queries_and_bodies(fuzz_app, data):
    folder, guard, client = fuzz_app
    method, template = data.draw(st.sampled_from(_routes(guard)), label="route")
    path = re.sub(
        r"\{[^}]+\}",
        lambda _: quote(
            data.draw(st.one_of(text, st.integers(-3, 50).map(str)), label="param"), safe="", errors="surrogatepass"
        ),
        template,
    )
    params = data.draw(st.dictionaries(st.sampled_from(["q", "token", "x", "limit", "n"]), text, max_size=2))
    query = "&".join(f"{k}={_quote(v)}" for k, v in params.items())
    url = f"{path}?{query}" if query else path
    body = data.draw(bodies, label="body") if method in ("PUT", "POST", "PATCH") else None
    response = client.request(method, url, content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500, (method, url, body, response.status_code, response.text)
    _still_readable(folder, client)
