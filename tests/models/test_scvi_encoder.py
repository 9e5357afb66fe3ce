import numpy as np
import pytest
import torch

import scconcepts
from scconcepts._errors import InputError
from scconcepts.models import TorchEncoder, load_encoder
from scconcepts.models._scvi_train import build_scvi


@pytest.fixture(scope="module")
def pbmc():
    return scconcepts.ds.pbmc68k()


@pytest.fixture(scope="module")
def encoder(pbmc):
    return build_scvi(pbmc, max_epochs=3, early_stopping=False)


def test_embedding_equals_scvi_posterior_mean(pbmc, encoder):
    np.testing.assert_allclose(encoder.embed(pbmc), encoder.model.get_latent_representation(), atol=1e-5)


def test_linear_first_layer_split_reproduces_encode(pbmc, encoder):
    split = encoder.linear_first_layer()
    x = torch.as_tensor(encoder.expression(pbmc)[:20].toarray())
    torch.testing.assert_close(split.rest(split.pre_activation(x, None), None), encoder.encode(x))
    # a rank-1 update of the pre-activation equals recomputing it after changing one gene
    changed = x.clone()
    changed[:, 7] = 0.0
    update = split.weight[:, 7] * (split.transform(changed[:, 7]) - split.transform(x[:, 7]))[:, None]
    torch.testing.assert_close(split.pre_activation(x, None) + update, split.pre_activation(changed, None))


def test_save_and_load_round_trip(pbmc, encoder, tmp_path):
    encoder.save(tmp_path / "model")
    loaded = load_encoder(tmp_path / "model")
    np.testing.assert_allclose(loaded.embed(pbmc), encoder.embed(pbmc), atol=1e-6)


def test_batch_covariates_are_encoded_when_the_model_reads_them(pbmc):
    adata = pbmc.copy()
    adata.obs["batch"] = np.where(np.arange(adata.n_obs) % 2, "a", "b")
    encoder = build_scvi(adata, batch_key="batch", max_epochs=2, early_stopping=False, encode_covariates=True)
    np.testing.assert_allclose(encoder.embed(adata), encoder.model.get_latent_representation(), atol=1e-5)
    split = encoder.linear_first_layer()
    x = torch.as_tensor(encoder.expression(adata)[:10].toarray())
    context = torch.as_tensor(encoder.context(adata)[:10])
    torch.testing.assert_close(split.rest(split.pre_activation(x, context), context), encoder.encode(x, context))
    adata.obs.loc[adata.obs_names[0], "batch"] = "unseen"
    with pytest.raises(InputError, match="not seen"):
        encoder.context(adata)


def test_non_count_data_is_refused(pbmc):
    adata = pbmc.copy()
    adata.X = adata.X * 0.5
    with pytest.raises(InputError, match="raw integer counts"):
        build_scvi(adata, max_epochs=1)


def test_torch_encoder_first_layer_shortcut():
    module = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    encoder = TorchEncoder(module, [f"g{i}" for i in range(6)])
    split = encoder.linear_first_layer()
    x = torch.randn(5, 6)
    torch.testing.assert_close(split.rest(split.pre_activation(x, None), None), encoder.encode(x))
    assert TorchEncoder(torch.nn.Tanh(), ["a"]).linear_first_layer() is None
    with pytest.raises(InputError, match="unique"):
        TorchEncoder(module, ["a", "a"])
