"""scGPT encoder on pbmc68k with a tiny checkpoint in the official format: embedding, tokens, perturbations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scconcepts
from scconcepts.models import load_encoder
from scconcepts.models._registry import build_encoder
from scconcepts.models._scgpt_tokens import bin_values, normalise_log1p
from scconcepts.models._tokens import hashed_uniform

from ._checkpoints import make_tiny_scgpt


@pytest.fixture(scope="module")
def pbmc():
    return scconcepts.ds.pbmc68k()


@pytest.fixture(scope="module")
def folder(pbmc, tmp_path_factory):
    # the vocabulary covers 90% of pbmc68k's genes and holds genes the data lack
    genes = list(pbmc.var_names[::10]) + [g for i, g in enumerate(pbmc.var_names) if i % 10 and i % 10 != 5]
    genes += [f"NOTINDATA{i}" for i in range(300)]
    return make_tiny_scgpt(tmp_path_factory.mktemp("scgpt"), genes)


@pytest.fixture(scope="module")
def encoder(pbmc, folder):
    return build_encoder("scgpt", pbmc, checkpoint=folder)


def _cell_tokens(encoder, row: np.ndarray, seed: int):
    tokens = encoder.tokenize(row[None, :], np.array([seed]))
    keep = ~tokens.padding[0]
    return tokens.genes[0, keep].numpy(), tokens.values[0, keep].numpy()


def test_embeds_pbmc68k(encoder, pbmc):
    # genes: the vocabulary's genes found in the data, in data order
    vocab = encoder.checkpoint.vocab
    assert encoder.genes == [g for g in pbmc.var_names if g in vocab]
    assert len(encoder.genes) == pbmc.n_vars - len(range(5, pbmc.n_vars, 10))
    embedding = encoder.embed(pbmc)
    assert embedding.shape == (pbmc.n_obs, 32)
    assert np.isfinite(embedding).all()
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-5)
    # different cells, different embeddings; and cells of a type sit closer to their own type's centre
    labels = pbmc.obs["cell_type"].astype(str).to_numpy()
    assert embedding.std(0).mean() > 1e-3
    centres = {t: embedding[labels == t].mean(0) for t in np.unique(labels)}
    own = np.array([np.linalg.norm(e - centres[t]) for e, t in zip(embedding, labels, strict=True)])
    others = np.array(
        [
            np.mean([np.linalg.norm(e - c) for u, c in centres.items() if u != t])
            for e, t in zip(embedding, labels, strict=True)
        ]
    )
    assert (own < others).mean() > 0.6


def test_deterministic_and_independent_of_batch(encoder, pbmc):
    full = encoder.embed(pbmc)
    again = encoder.embed(pbmc, batch_size=97)
    np.testing.assert_allclose(full, again, atol=1e-5)
    subset = encoder.embed(pbmc[np.arange(pbmc.n_obs)[::-7]])  # a cell keeps its tokens in another subset
    np.testing.assert_allclose(subset, full[::-7], atol=1e-5)


def test_tokens_are_binned_expressed_genes_with_cls(encoder, pbmc):
    x = encoder.expression(pbmc)[:5].toarray()
    seeds = encoder.context(pbmc[:5])
    vocab = encoder.checkpoint.vocab
    for row, seed in zip(x, seeds, strict=True):
        genes, values = _cell_tokens(encoder, row, seed)
        expressed = np.flatnonzero(row)
        assert genes[0] == vocab["<cls>"] and values[0] == -2
        np.testing.assert_array_equal(genes[1:], encoder.gene_tokens[expressed])
        normalised = normalise_log1p(row[None, :])[0, expressed]
        ties = hashed_uniform(np.full(len(expressed), seed), encoder.gene_tokens[expressed], salt=2)
        np.testing.assert_array_equal(values[1:], bin_values(normalised, 51, ties))
        assert values[1:].min() >= 1 and values[1:].max() == 50


def test_masking_a_gene_drops_its_token_and_rebins_the_rest(encoder, pbmc):
    x = encoder.expression(pbmc)[:1].toarray()[0]
    seed = int(encoder.context(pbmc[:1])[0])
    expressed = np.flatnonzero(x)
    gene = expressed[len(expressed) // 2]
    masked = x.copy()
    masked[gene] = 0
    genes, values = _cell_tokens(encoder, masked, seed)
    remaining = expressed[expressed != gene]
    np.testing.assert_array_equal(genes[1:], encoder.gene_tokens[remaining])
    ties = hashed_uniform(np.full(len(remaining), seed), encoder.gene_tokens[remaining], salt=2)
    expected = bin_values(normalise_log1p(masked[None, :])[0, remaining], 51, ties)
    np.testing.assert_array_equal(values[1:], expected)
    # a counterfactual value keeps the token and changes its bin
    raised = x.copy()
    raised[gene] = x.max() * 4
    genes, values = _cell_tokens(encoder, raised, seed)
    position = 1 + int(np.flatnonzero(expressed == gene)[0])
    assert genes[position] == encoder.gene_tokens[gene] and values[position] == 50


def test_sampling_is_stable_under_perturbation(pbmc, folder):
    encoder = build_encoder("scgpt", pbmc, checkpoint=folder, max_length=40)
    x = encoder.expression(pbmc)[:1].toarray()[0]
    seed = int(encoder.context(pbmc[:1])[0])
    kept, _ = _cell_tokens(encoder, x, seed)
    assert len(kept) == 40 and len(np.flatnonzero(x)) > 39
    token_to_column = {t: c for c, t in enumerate(encoder.gene_tokens)}
    kept_columns = {token_to_column[t] for t in kept[1:]}
    dropped = [c for c in np.flatnonzero(x) if c not in kept_columns]
    # masking a gene that was not sampled leaves the tokens unchanged; re-encoding gives the same tokens
    masked = x.copy()
    masked[dropped[0]] = 0
    np.testing.assert_array_equal(_cell_tokens(encoder, masked, seed)[0], kept)
    np.testing.assert_array_equal(_cell_tokens(encoder, x, seed)[0], kept)
    # masking a sampled gene replaces it by one gene, all others stay
    masked = x.copy()
    victim = sorted(kept_columns)[3]
    masked[victim] = 0
    after = set(_cell_tokens(encoder, masked, seed)[0][1:])
    before = set(kept[1:])
    assert before - after == {encoder.gene_tokens[victim]} and len(after - before) == 1


def test_perturbed_variants_batched_equal_one_at_a_time(encoder, pbmc):
    x = torch.as_tensor(encoder.expression(pbmc)[3:4].toarray())
    context = torch.as_tensor(encoder.context(pbmc[3:4]))
    expressed = torch.nonzero(x[0]).flatten()[:12]
    variants = x.repeat(len(expressed) + 2, 1)
    variants[torch.arange(len(expressed)), expressed] = 0  # mask one gene each
    variants[-2, expressed[0]] = 50.0  # counterfactual values
    variants[-1, torch.nonzero(x[0] == 0).flatten()[:5]] = 3.0  # genes switched on: longer sequence
    with torch.no_grad():
        batched = encoder.encode(variants, context.repeat(len(variants)))
        single = torch.cat([encoder.encode(v[None], context) for v in variants])
        original = encoder.encode(x, context)
    torch.testing.assert_close(batched, single, atol=2e-6, rtol=0)
    assert ((batched - original).norm(dim=1) > 2e-5).all()  # every perturbation moves the embedding


def test_save_and_load_roundtrip(encoder, pbmc, tmp_path):
    encoder.save(tmp_path / "model")
    loaded = load_encoder(tmp_path / "model")
    assert loaded.genes == encoder.genes
    np.testing.assert_allclose(loaded.embed(pbmc[:50]), encoder.embed(pbmc[:50]), atol=1e-6)
