import numpy as np
import torch

from scconcepts.sae import SAEConfig, encode_csr, reconstruction_metrics, train

from ._planted import planted_embeddings, recovered_share


def test_sae_recovers_planted_dictionary_despite_large_offset():
    embeddings, atoms = planted_embeddings(n_cells=10_000, dim=64, n_atoms=128, active=2, noise=0.02)
    config = SAEConfig(k=2, expansion=2, epochs=100, patience=20, batch_size=256, lr=1e-2, input_noise=0.0)
    result = train(embeddings, config)
    decoder = result.sae.W_dec.detach().numpy()
    metrics = reconstruction_metrics(result.sae, embeddings, result.val_rows)

    assert recovered_share(decoder, atoms) >= 0.9
    assert metrics["r2"] >= 0.95
    assert metrics["l0"] <= 2
    assert metrics["dead_fraction"] <= 0.1
    # the normaliser holds the offset, so the learned atoms did not have to
    assert np.linalg.norm(result.sae.mean.numpy() - embeddings.mean(0)) < 0.1 * np.linalg.norm(embeddings.mean(0))


def test_without_centring_most_latents_would_die_but_ours_do_not():
    embeddings, _ = planted_embeddings(n_cells=5_000)
    result = train(embeddings, SAEConfig(k=3, expansion=4, epochs=15, patience=5, batch_size=512, aux_coef=1 / 32))
    activations = encode_csr(result.sae, embeddings)
    assert (activations.getnnz(axis=0) == 0).mean() < 0.1
    assert torch.allclose(result.sae.W_dec.norm(dim=1), torch.ones(result.sae.n_latents), atol=1e-5)
