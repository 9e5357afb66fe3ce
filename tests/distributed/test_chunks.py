import numpy as np
import pytest
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.distributed import cell_chunks, dask_client, map_chunks
from scconcepts.models import TorchEncoder
from scconcepts.models._chunked import embed_on_workers
from scconcepts.sae import TopKSAE
from scconcepts.sae._encode import encode_csr
from scconcepts.sae._workers import encode_on_workers


def _square(part, offset):
    return [value * value + offset for value in part]


def _cells(n_cells=900, n_genes=60, seed=0):
    rng = np.random.default_rng(seed)
    adata = AnnData(sp.csr_matrix(rng.poisson(0.8, (n_cells, n_genes)).astype(np.float32)))
    adata.var_names = [f"g{i}" for i in range(n_genes)]
    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Linear(n_genes, 24), torch.nn.ReLU(), torch.nn.Linear(24, 8))
    return adata, TorchEncoder(module, list(adata.var_names))


def test_cell_chunks_cover_every_cell_once():
    chunks = cell_chunks(10, 4)
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 8), (8, 10)]
    assert cell_chunks(0, 4) == []
    with pytest.raises(ValueError):
        cell_chunks(5, 0)


def test_map_chunks_keeps_the_order_of_parts_on_workers(cluster_client):
    parts = [list(range(i, i + 3)) for i in range(0, 30, 3)]
    here = map_chunks(_square, parts, 1)
    there = map_chunks(_square, parts, 1, client=cluster_client)
    assert here == there == [[v * v + 1 for v in part] for part in parts]


def _shift(part, shared):
    return part + shared["offset"]


def test_a_shared_dict_travels_whole_and_leaves_other_data_alone(cluster_client):
    # A dict scattered as such travels value by value under its own keys ("offset"), which collides with any
    # other data of that name on the cluster: here the user's, which must survive the map unchanged.
    (theirs,) = cluster_client.scatter({"offset": 1000}, hash=False).values()
    assert map_chunks(_shift, [1, 2, 3, 4], {"offset": 10}, client=cluster_client) == [11, 12, 13, 14]
    assert theirs.key == "offset"
    assert theirs.result(timeout=30) == 1000


def test_embedding_on_two_workers_equals_one_process(cluster_client):
    adata, encoder = _cells()
    single = encoder.embed(adata)
    spread = embed_on_workers(encoder, adata, client=cluster_client, chunk_size=250)
    assert spread.shape == single.shape
    np.testing.assert_allclose(spread, single, atol=1e-6, rtol=0)


def test_encoding_on_two_workers_equals_one_process(cluster_client):
    rng = np.random.default_rng(1)
    embedding = rng.normal(size=(700, 8)).astype(np.float32)
    torch.manual_seed(1)
    sae = TopKSAE(8, 32, 3, inference="pursuit")
    single = encode_csr(sae, embedding)
    spread = encode_on_workers(sae, embedding, client=cluster_client, chunk_size=200)
    assert abs(spread - single).max() <= 1e-6
    assert spread.nnz == single.nnz > 0


def test_client_options_are_checked():
    with pytest.raises(InputError, match="either --scheduler or --workers"):
        with dask_client(scheduler="tcp://127.0.0.1:1", workers=2):
            pass
    with dask_client() as client:
        assert client is None


def test_tl_embed_with_a_client_equals_without(cluster_client):
    from scconcepts import tl

    adata, encoder = _cells(n_cells=500)
    tl.embed(adata, model=encoder, key_added="X_here")
    tl.embed(adata, model=encoder, key_added="X_there", client=cluster_client)
    np.testing.assert_allclose(adata.obsm["X_there"], adata.obsm["X_here"], atol=1e-6, rtol=0)
