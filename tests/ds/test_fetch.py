"""CELLxGENE fetchers: id checks, one-line offline errors, cache reuse, atomic downloads.

No test reaches the internet: connections are refused by monkeypatching ``socket``, or go to an
HTTP server on 127.0.0.1 that plays the CELLxGENE API and asset host.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import scconcepts.ds as ds
from scconcepts._errors import InputError, OfflineError, ScconceptsError
from scconcepts.ds import _atlases, _cellxgene

DATASET = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
VERSION = "11112222-3333-4444-5555-666677778888"


def _offline_message(call) -> str:
    with pytest.raises(OfflineError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    assert "network is unreachable" in message and "--input" in message and "scconcepts.ds.read" in message
    return message


def _check_prepared(adata, expected_counts) -> None:
    assert sp.isspmatrix_csr(adata.X) and adata.X.dtype == np.float32
    np.testing.assert_array_equal(adata.X.toarray(), expected_counts)
    assert adata.var_names[0] == "SYM0" and adata.var["feature_id"].iloc[0] == "ENSG00000000000"
    assert set(adata.obs["cell_type"].cat.categories) <= {"T cell", "B cell", "natural killer cell"}
    assert adata.raw is None
    assert ds.check_counts(adata).in_x


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc",
        "../../etc/passwd",
        "",
        "   ",
        None,
        42,
        f"{DATASET}/../x",
        f"https://evil.example/{DATASET}",
        "0a1b",
    ],
)
def test_hostile_ids_refused_before_any_request(hostile, cache, no_network, no_dns):
    with pytest.raises(InputError, match="is not a CELLxGENE dataset id"):
        ds.cellxgene(hostile)
    assert no_network == [] and no_dns == []
    assert not cache.exists() or not any(cache.rglob("*"))


def test_offline_gives_one_line(cache, no_network):
    message = _offline_message(lambda: ds.cellxgene(DATASET))
    assert f"CELLxGENE dataset {DATASET}" in message and "api.cellxgene.cziscience.com" in message
    assert no_network, "the fetcher should have tried to connect"
    assert not (cache / "cellxgene").exists() or not any((cache / "cellxgene").iterdir())


def test_dns_failure_is_offline(cache, no_dns):
    message = _offline_message(lambda: ds.cellxgene(DATASET.upper()))
    assert "name resolution" in message
    assert no_dns == ["api.cellxgene.cziscience.com"]


@pytest.mark.parametrize("fetcher", [ds.tabula_sapiens_immune, ds.cross_tissue_immune_atlas])
def test_atlases_offline(fetcher, cache, no_network):
    _offline_message(fetcher)


def test_cached_atlas_used_without_network(cache, no_network, cellxgene_like):
    path = _cellxgene.cached_path(_atlases.CROSS_TISSUE_IMMUNE_ATLAS)
    path.parent.mkdir(parents=True)
    cellxgene_like.write_h5ad(path)
    adata = ds.cross_tissue_immune_atlas()
    _check_prepared(adata, cellxgene_like.uns["expected_counts"])
    assert adata.uns["dataset"] == "cross_tissue_immune_atlas"
    assert no_network == []


def test_second_candidate_cache_used_for_tabula_sapiens(cache, no_network, cellxgene_like):
    path = _cellxgene.cached_path(_atlases.TABULA_SAPIENS_IMMUNE[1])
    path.parent.mkdir(parents=True)
    cellxgene_like.write_h5ad(path)
    _check_prepared(ds.tabula_sapiens_immune(), cellxgene_like.uns["expected_counts"])
    assert no_network == []


def test_corrupt_cache_says_to_delete_it(cache, no_network):
    path = _cellxgene.cached_path(DATASET)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(InputError, match="delete the cached file"):
        ds.cellxgene(DATASET)


def test_cache_location_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SCCONCEPTS_CACHE", str(tmp_path / "elsewhere"))
    assert _cellxgene.cached_path(DATASET) == tmp_path / "elsewhere" / "cellxgene" / f"{DATASET}.h5ad"
    monkeypatch.delenv("SCCONCEPTS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cellxgene.cached_path(DATASET).parent.parent == tmp_path / "xdg" / "scconcepts"


class _Site:
    """What the local server answers: path -> (status, body, headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[str] = []


@pytest.fixture
def site(monkeypatch) -> Iterator[tuple[_Site, str]]:
    state = _Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            status, body, headers = state.routes.get(self.path, (404, b"not found", {}))
            self.send_response(status)
            self.send_header("Content-Length", headers.get("Content-Length", str(len(body))))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(_cellxgene, "API_BASE", f"{base}/curation/v1")
    monkeypatch.setattr(_cellxgene, "ASSET_BASE", f"{base}/assets")
    yield state, base
    server.shutdown()
    server.server_close()


def _serve_dataset(state: _Site, base: str, h5ad: Path, *, asset_url: str | None = None) -> None:
    url = asset_url or f"{base}/assets/{VERSION}.h5ad"
    versions = [
        {"dataset_version_id": VERSION, "assets": [{"filetype": "RDS", "url": "x"}, {"filetype": "H5AD", "url": url}]}
    ]
    state.routes[f"/curation/v1/datasets/{DATASET}/versions"] = (200, json.dumps(versions).encode(), {})
    state.routes[f"/assets/{VERSION}.h5ad"] = (200, h5ad.read_bytes(), {})


def test_download_then_cache_reuse(site, cache, tmp_path, cellxgene_like, monkeypatch):
    state, base = site
    cellxgene_like.write_h5ad(tmp_path / "asset.h5ad")
    _serve_dataset(state, base, tmp_path / "asset.h5ad")
    adata = ds.cellxgene(DATASET)
    _check_prepared(adata, cellxgene_like.uns["expected_counts"])
    assert state.requests == [f"/curation/v1/datasets/{DATASET}/versions", f"/assets/{VERSION}.h5ad"]
    files = sorted(p.name for p in (cache / "cellxgene").iterdir())
    assert files == [f"{DATASET}.h5ad"], "the .part file must be renamed, nothing else left"
    assert (cache / "cellxgene" / f"{DATASET}.h5ad").read_bytes() == (tmp_path / "asset.h5ad").read_bytes()
    state.routes.clear()
    _check_prepared(ds.cellxgene(DATASET), cellxgene_like.uns["expected_counts"])
    assert len(state.requests) == 2, "the second call must not ask the server again"


def test_version_id_fallback(site, cache, tmp_path, cellxgene_like):
    state, _ = site
    cellxgene_like.write_h5ad(tmp_path / "asset.h5ad")
    state.routes[f"/assets/{VERSION}.h5ad"] = (200, (tmp_path / "asset.h5ad").read_bytes(), {})
    _check_prepared(ds.cellxgene(VERSION), cellxgene_like.uns["expected_counts"])
    assert state.requests == [f"/curation/v1/datasets/{VERSION}/versions", f"/assets/{VERSION}.h5ad"]


def test_unknown_id(site, cache):
    with pytest.raises(InputError, match=f"no dataset or dataset version with id {DATASET}"):
        ds.cellxgene(DATASET)
    assert not any((cache / "cellxgene").iterdir())


def test_truncated_download_leaves_nothing(site, cache, tmp_path, cellxgene_like):
    state, base = site
    cellxgene_like.write_h5ad(tmp_path / "asset.h5ad")
    _serve_dataset(state, base, tmp_path / "asset.h5ad")
    body = (tmp_path / "asset.h5ad").read_bytes()
    state.routes[f"/assets/{VERSION}.h5ad"] = (200, body[:1000], {"Content-Length": str(len(body))})
    with pytest.raises(OfflineError, match=f"stopped after 1000 of {len(body)} bytes"):
        ds.cellxgene(DATASET)
    assert not any((cache / "cellxgene").iterdir())


def test_foreign_asset_url_refused(site, cache, tmp_path, cellxgene_like):
    state, base = site
    cellxgene_like.write_h5ad(tmp_path / "asset.h5ad")
    _serve_dataset(state, base, tmp_path / "asset.h5ad", asset_url=f"https://evil.example/{VERSION}.h5ad")
    with pytest.raises(ScconceptsError, match="unexpected download URL"):
        ds.cellxgene(DATASET)
    assert state.requests == [f"/curation/v1/datasets/{DATASET}/versions"]


def test_server_error_is_one_line(site, cache):
    state, _ = site
    state.routes[f"/curation/v1/datasets/{DATASET}/versions"] = (503, b"busy", {})
    with pytest.raises(ScconceptsError, match="answered HTTP 503") as caught:
        ds.cellxgene(DATASET)
    assert not isinstance(caught.value, OfflineError) and "\n" not in str(caught.value)
