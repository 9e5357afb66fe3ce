"""Geneformer encoder with tiny checkpoints in the official format: rank-value tokens, embeddings, perturbations."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from anndata import AnnData
from safetensors.torch import load_file, save_file

import scconcepts
from scconcepts._errors import InputError
from scconcepts.models import load_encoder
from scconcepts.models._registry import build_encoder

from ._checkpoints import ensembl_ids, make_tiny_geneformer


@pytest.fixture(scope="module")
def pbmc():
    return scconcepts.ds.pbmc68k()


@pytest.fixture(scope="module")
def folder(pbmc, tmp_path_factory):
    genes = [g for i, g in enumerate(pbmc.var_names) if i % 10 != 3] + [f"NOTINDATA{i}" for i in range(200)]
    return make_tiny_geneformer(tmp_path_factory.mktemp("geneformer"), genes)


@pytest.fixture(scope="module")
def encoder(pbmc, folder):
    return build_encoder("geneformer", pbmc, checkpoint=folder)


def _dicts(folder):
    with open(folder / "token_dictionary_gc104M.pkl", "rb") as f:
        tokens = pickle.load(f)
    with open(folder / "gene_median_dictionary_gc104M.pkl", "rb") as f:
        medians = pickle.load(f)
    with open(folder / "gene_name_id_dict_gc104M.pkl", "rb") as f:
        names = pickle.load(f)
    return tokens, medians, names


def _reference_ids(row: np.ndarray, genes: list[str], folder, input_size: int) -> list[int]:
    """Geneformer's tokenizer for one cell: counts / n_counts * 10,000 / median, ranked, truncated, cls/eos."""
    tokens, medians, names = _dicts(folder)
    ids = np.array([tokens[names[g]] for g in genes])
    norm = row / row.sum() * 10_000 / np.array([medians[names[g]] for g in genes])
    expressed = np.flatnonzero(norm)
    ranked = ids[expressed][np.argsort(-norm[expressed], kind="stable")]
    return [tokens["<cls>"], *ranked[: input_size - 2].tolist(), tokens["<eos>"]]


def test_tokens_follow_geneformer_rank_value_encoding(encoder, pbmc, folder):
    tokens, _, names = _dicts(folder)
    assert encoder.genes == [g for g in pbmc.var_names if g in names]
    x = encoder.expression(pbmc)[:6].toarray()
    batch = encoder.tokenize(x)
    for i, row in enumerate(x):
        length = int(batch.lengths[i])
        assert batch.ids[i, :length].tolist() == _reference_ids(row, encoder.genes, folder, 256)
        assert (batch.ids[i, length:] == tokens["<pad>"]).all()
        assert batch.gene_positions[i].sum() == length - 2


def test_truncates_to_model_input_size(pbmc, tmp_path):
    folder = make_tiny_geneformer(tmp_path / "short", list(pbmc.var_names), max_input=64, n_layers=2)
    encoder = build_encoder("geneformer", pbmc, checkpoint=folder)
    x = encoder.expression(pbmc)[:3].toarray()
    batch = encoder.tokenize(x)
    assert batch.ids.shape[1] == 64 and (batch.lengths == 64).all()
    for i, row in enumerate(x):
        assert batch.ids[i].tolist() == _reference_ids(row, encoder.genes, folder, 64)
    assert np.isfinite(encoder.embed(pbmc[:20])).all()


def test_embedding_is_mean_of_second_to_last_layer(encoder, pbmc, folder):
    from transformers import BertForMaskedLM

    model = BertForMaskedLM.from_pretrained(folder).eval()  # as Geneformer's EmbExtractor loads it
    x = encoder.expression(pbmc)[:8].toarray()
    ours = encoder.encode(torch.as_tensor(x)).detach().numpy()
    for i, row in enumerate(x):
        ids = torch.tensor([_reference_ids(row, encoder.genes, folder, 256)])
        with torch.no_grad():
            hidden = model(input_ids=ids, output_hidden_states=True).hidden_states
        layer = hidden[len(hidden) - 2]  # emb_layer=-1: second to last layer
        expected = layer[0, 1:-1].mean(0).numpy()  # gene tokens: <cls> and <eos> left out
        np.testing.assert_allclose(ours[i], expected, atol=1e-5)


def test_embeds_pbmc68k_deterministically(encoder, pbmc):
    embedding = encoder.embed(pbmc)
    assert embedding.shape == (pbmc.n_obs, 32) and np.isfinite(embedding).all()
    assert embedding.std(0).mean() > 1e-3
    np.testing.assert_allclose(encoder.embed(pbmc, batch_size=61), embedding, atol=1e-5)


def test_delete_and_overexpress_as_the_perturber_defines(encoder, pbmc, folder):
    counts = encoder.expression(pbmc)
    cell = int(np.argmin(np.diff(counts.indptr)))  # short enough not to be truncated
    x = counts[cell].toarray()
    base = encoder.tokenize(x).ids[0].tolist()
    assert len(base) < 200
    expressed = np.flatnonzero(x[0])
    gene = expressed[5]
    token = int(encoder.gene_tokens[gene])
    # delete: zero the gene, its token disappears and the rest keep their order
    deleted = x.copy()
    deleted[0, gene] = 0
    assert encoder.tokenize(deleted).ids[0].tolist() == [t for t in base if t != token]
    # overexpress: the token moves right after <cls>
    moved = encoder.tokenize(x, front=np.array([gene])).ids[0].tolist()
    assert moved == [base[0], token] + [t for t in base[1:] if t != token]
    # an unexpressed gene is inserted at the front
    silent = int(np.flatnonzero(x[0] == 0)[0])
    inserted = encoder.tokenize(x, front=np.array([silent])).ids[0].tolist()
    assert inserted == [base[0], int(encoder.gene_tokens[silent]), *base[1:]]
    with torch.no_grad():
        embedded = encoder.overexpress(torch.as_tensor(np.repeat(x, 2, 0)), [gene, silent])
        direct = encoder.encode_tokens(encoder.tokenize(np.repeat(x, 2, 0), front=np.array([gene, silent])))
        original = encoder.encode(torch.as_tensor(x))
    torch.testing.assert_close(embedded, direct)
    assert ((embedded - original).norm(dim=1) > 1e-4).all()


def test_perturbed_variants_batched_equal_one_at_a_time(encoder, pbmc):
    x = torch.as_tensor(encoder.expression(pbmc)[7:8].toarray())
    expressed = torch.nonzero(x[0]).flatten()[:10]
    variants = x.repeat(len(expressed) + 1, 1)
    variants[torch.arange(len(expressed)), expressed] = 0
    variants[-1, torch.nonzero(x[0] == 0).flatten()[:4]] = 2.0
    with torch.no_grad():
        batched = encoder.encode(variants)
        single = torch.cat([encoder.encode(v[None]) for v in variants])
    torch.testing.assert_close(batched, single, atol=2e-6, rtol=0)


def test_save_load_and_cls_pooling(encoder, pbmc, folder, tmp_path):
    encoder.save(tmp_path / "model")
    loaded = load_encoder(tmp_path / "model")
    np.testing.assert_allclose(loaded.embed(pbmc[:30]), encoder.embed(pbmc[:30]), atol=1e-6)
    last_cls = build_encoder("geneformer", pbmc, checkpoint=folder, emb_layer=0, pooling="cls")
    assert len(last_cls.model.encoder.layer) == 3
    assert not np.allclose(last_cls.embed(pbmc[:30]), encoder.embed(pbmc[:30]), atol=1e-3)


def test_refuses_damaged_checkpoints(pbmc, tmp_path):
    folder = make_tiny_geneformer(tmp_path / "gf", list(pbmc.var_names), n_layers=2)
    weights = load_file(folder / "model.safetensors")
    key = next(k for k in weights if k.endswith("layer.1.output.dense.weight"))
    renamed = dict(weights)
    renamed[key.replace("output.dense", "output.densse")] = renamed.pop(key)
    save_file(renamed, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(InputError, match="lacks or mis-shapes"):
        build_encoder("geneformer", pbmc, checkpoint=folder)
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    (folder / "gene_median_dictionary_gc104M.pkl").unlink()
    with pytest.raises(InputError, match="gene median"):
        build_encoder("geneformer", pbmc, checkpoint=folder)
    with pytest.raises(InputError, match="--checkpoint DIR"):
        build_encoder("geneformer", pbmc)


def test_matches_ensembl_ids_and_counts_matches(pbmc, tmp_path):
    folder = make_tiny_geneformer(tmp_path / "gf", list(pbmc.var_names[:100]), n_layers=2)
    by_id = AnnData(np.ones((5, 30), dtype=np.float32))
    by_id.var_names = ensembl_ids(list(pbmc.var_names[:100]))[:30]
    assert build_encoder("geneformer", by_id, checkpoint=folder).genes == list(by_id.var_names)
    with pytest.raises(InputError, match=f"only 100 of the data's {pbmc.n_vars} genes"):
        build_encoder("geneformer", pbmc, checkpoint=folder)
