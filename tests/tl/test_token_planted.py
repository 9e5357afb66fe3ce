"""Planted test of token concepts: a small scGPT-shaped transformer trained here on counts with a gene program.

400 cells x 60 genes; 8 program genes are (nearly) silent except in the 40% of cells where the program is active.
The transformer (scGPT's architecture, 32-d, 2 layers) learns masked expression values for 800 steps (about
30 s on one CPU thread), is saved as an official scGPT checkpoint folder and read back by ``build_scgpt``. A Top-K
SAE on its last layer's gene-token states then has a concept whose per-gene activation ranks the program's genes
first (AUROC 0.995 for this seed; 0.986 for seed 1) and whose per-cell activation marks the program's cells. The
untrained model (same seed) gives no such concept (best AUROC 0.58-0.74 over seeds 0-2): the program is learnt.
"""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.metrics import roc_auc_score

import scconcepts
from scconcepts.models._scgpt import build_scgpt
from scconcepts.models._scgpt_model import ScgptTransformer

from ..models._checkpoints import scgpt_args, scgpt_vocab

N_CELLS, N_GENES, D_MODEL, STEPS, SEED = 400, 60, 32, 800, 0
PROGRAM = np.arange(8)


def _planted_cells(seed: int) -> tuple[ad.AnnData, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.lognormal(0.5, 0.8, N_GENES)
    base[PROGRAM] = 0.05
    active = rng.random(N_CELLS) < 0.4
    rates = np.tile(base, (N_CELLS, 1)) * rng.lognormal(0, 0.3, (N_CELLS, 1))
    rates[np.ix_(active, PROGRAM)] = 6.0
    adata = ad.AnnData(sp.csr_matrix(rng.poisson(rates).astype(np.float32)))
    adata.var_names = [f"G{i}" for i in range(N_GENES)]
    adata.obs_names = [f"c{i}" for i in range(N_CELLS)]
    return adata, active


def _save(model: ScgptTransformer, folder) -> None:
    state = {k.replace("self_attn.in_proj_", "self_attn.Wqkv."): v for k, v in model.state_dict().items()}
    torch.save(state, folder / "best_model.pt")


def _train_transformer(adata: ad.AnnData, folder, *, steps: int, seed: int) -> None:
    """Masked-value training (scGPT's objective on binned values, 30% of gene tokens masked), saved as a checkpoint."""
    vocab = scgpt_vocab(list(adata.var_names))
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "args.json").write_text(json.dumps(scgpt_args(d_model=D_MODEL, n_layers=2, n_heads=4, d_hid=64)))
    torch.manual_seed(seed)
    model = ScgptTransformer(len(vocab), D_MODEL, 4, 64, 2, pad_id=vocab["<pad>"])
    head = torch.nn.Sequential(torch.nn.Linear(D_MODEL, D_MODEL), torch.nn.ReLU(), torch.nn.Linear(D_MODEL, 1))
    _save(model, folder)
    encoder = build_scgpt(adata, checkpoint=folder)
    tokens = encoder.tokenize(encoder.expression(adata).toarray(), encoder.context(adata))
    optimiser = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        part = tokens.select(torch.randint(0, N_CELLS, (64,), generator=generator).numpy())
        mask = (torch.rand(part.values.shape, generator=generator) < 0.3) & ~part.padding
        mask[:, 0] = False
        predicted = head(model(part.genes, part.values.masked_fill(mask, -1.0), part.padding)).squeeze(-1)
        loss = ((predicted - part.values / 50) ** 2)[mask].mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    _save(model.eval(), folder)


def _best_concept(adata: ad.AnnData, store) -> tuple[float, int]:
    scconcepts.tl.train_token_sae(adata, store, regime="sae", k=4, expansion=2, epochs=20, n_seeds=1, seed=SEED,
                                  labels_key=None)  # fmt: skip
    per_gene = np.nan_to_num(adata.varm["concepts_token_genes"], nan=0.0)
    truth = np.isin(np.arange(N_GENES), PROGRAM)
    aurocs = [roc_auc_score(truth, per_gene[:, c]) for c in range(per_gene.shape[1])]
    return max(aurocs), int(np.argmax(aurocs))


@pytest.fixture(scope="module")
def planted():
    torch.set_num_threads(1)
    return _planted_cells(SEED)


def test_token_concept_recovers_the_learnt_program(planted, tmp_path):
    adata, active = planted
    _train_transformer(adata, tmp_path / "trained", steps=STEPS, seed=SEED)
    encoder = build_scgpt(adata, checkpoint=tmp_path / "trained")
    store = scconcepts.tl.token_activations(adata, encoder, layer="layer_2", path=tmp_path / "store")
    auroc, concept = _best_concept(adata, store)
    assert auroc >= 0.95
    cells = adata.obsm["X_concepts"][:, concept].toarray().ravel()
    assert roc_auc_score(active, cells) >= 0.9  # and its per-cell activation marks the program's cells


def test_untrained_transformer_has_no_program_concept(planted, tmp_path):
    adata, _ = planted
    _train_transformer(adata, tmp_path / "untrained", steps=0, seed=SEED)
    encoder = build_scgpt(adata, checkpoint=tmp_path / "untrained")
    store = scconcepts.tl.token_activations(adata, encoder, layer="layer_2", path=tmp_path / "store")
    assert _best_concept(adata, store)[0] < 0.9
