import numpy as np
import pytest
import torch
import zarr

from scconcepts._errors import InputError
from scconcepts.sae import SAEConfig, encode_csr, load_sae, save_sae, train

from ._planted import planted_embeddings


@pytest.fixture(scope="module")
def small():
    embeddings, _ = planted_embeddings(n_cells=2_000, dim=16, n_atoms=32, seed=3)
    return embeddings, train(embeddings, SAEConfig(k=3, expansion=2, epochs=5, batch_size=256))


def test_save_load_round_trip_gives_identical_activations(small, tmp_path):
    embeddings, result = small
    save_sae(result.sae, tmp_path / "sae", config=result.config)
    loaded = load_sae(tmp_path / "sae")
    before, after = encode_csr(result.sae, embeddings), encode_csr(loaded, embeddings)
    assert (before != after).nnz == 0
    assert torch.equal(loaded.mean, result.sae.mean)


def test_checkpoint_with_a_missing_tensor_is_refused(small, tmp_path):
    from safetensors.torch import load_file, save_file

    save_sae(small[1].sae, tmp_path / "sae")
    tensors = load_file(tmp_path / "sae" / "model.safetensors")
    del tensors["W_dec"]
    save_file(tensors, tmp_path / "sae" / "model.safetensors")
    with pytest.raises(InputError, match="W_dec"):
        load_sae(tmp_path / "sae")


def test_memmap_and_zarr_give_the_same_model_as_memory(small, tmp_path):
    embeddings, _ = small
    memmap = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=embeddings.shape)
    memmap[:] = embeddings
    store = zarr.open_array(str(tmp_path / "x.zarr"), mode="w", shape=embeddings.shape, chunks=(500, 16), dtype="f4")
    store[:] = embeddings
    config = SAEConfig(k=3, expansion=2, epochs=2, batch_size=256)
    reference = train(embeddings, config).sae.W_dec
    for source in (memmap, store):
        torch.testing.assert_close(train(source, config).sae.W_dec, reference)


def test_activations_are_sparse_with_at_most_k_per_cell(small):
    embeddings, result = small
    activations = encode_csr(result.sae, embeddings)
    assert activations.shape == (len(embeddings), result.sae.n_latents)
    assert activations.getnnz(axis=1).max() <= 3
    assert activations.data.min() > 0


def test_batch_topk_keeps_k_per_cell_on_average(small):
    embeddings, _ = small
    result = train(embeddings, SAEConfig(k=3, expansion=2, epochs=5, batch_size=256, batch_topk=True))
    l0 = encode_csr(result.sae, embeddings).getnnz(axis=1).mean()
    assert 1.5 <= l0 <= 6


@pytest.mark.parametrize(
    ("embeddings", "config", "message"),
    [
        (np.zeros((0, 8), np.float32), SAEConfig(), "empty"),
        (np.ones((5, 8), np.float32), SAEConfig(), "at least 10 cells"),
        (np.ones((100, 4), np.float32), SAEConfig(k=40, expansion=8), "dictionary size 32"),
        (np.full((100, 4), np.nan, np.float32), SAEConfig(k=2), "NaN"),
        (np.ones(100, np.float32), SAEConfig(), "2-D"),
    ],
)
def test_bad_inputs_are_refused_with_a_clear_message(embeddings, config, message):
    with pytest.raises(InputError, match=message):
        train(embeddings, config)
