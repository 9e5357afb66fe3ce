"""SAEs written by SAELens and sparsify themselves load as ours with the library's activations, and back again.

Every checkpoint here is made and saved by the library's own classes (seeded, small); activations are compared
with the library's ``encode`` on random inputs to 1e-6.
"""

import json

import pytest
import torch

from scconcepts._errors import InputError
from scconcepts.sae import TopKSAE, load, read_checkpoint, save_sae
from scconcepts.sae._hooks import hook_layer
from scconcepts.sae._saelens import write_saelens
from scconcepts.sae._sparsify import write_sparsify

sae_lens = pytest.importorskip("sae_lens")
sparsify = pytest.importorskip("sparsify")

from sae_lens import (  # noqa: E402
    SAE,
    BatchTopKTrainingSAE,
    BatchTopKTrainingSAEConfig,
    GatedSAE,
    GatedSAEConfig,
    JumpReLUSAE,
    JumpReLUSAEConfig,
    StandardSAE,
    StandardSAEConfig,
    TopKTrainingSAE,
    TopKTrainingSAEConfig,
)
from sae_lens import TopKSAE as LensTopKSAE  # noqa: E402
from sae_lens import TopKSAEConfig as LensTopKSAEConfig  # noqa: E402
from sae_lens.saes.sae import SAEMetadata  # noqa: E402
from sparsify import SparseCoder, SparseCoderConfig  # noqa: E402

D_IN, N_LATENTS, K = 12, 40, 5
TOL = 1e-6


@pytest.fixture
def inputs():
    generator = torch.Generator().manual_seed(1)
    return torch.randn(300, D_IN, generator=generator) * 0.8 + 0.3


def _biases(sae, seed):
    """The library's own weight initialisation; biases and thresholds (zero at init) drawn small and seeded."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, value in sae.named_parameters():
            if name in ("b_enc", "b_dec", "encoder.bias"):
                value.copy_(0.1 * torch.randn(value.shape, generator=generator))
            elif name == "threshold":
                value.copy_(0.3 * torch.rand(value.shape, generator=generator))
    return sae


def _lens(cls, config_cls, seed, **options):
    torch.manual_seed(seed)
    return _biases(cls(config_cls(d_in=D_IN, d_sae=N_LATENTS, **options)), seed)


LENS_CASES = {
    "standard": lambda: _lens(StandardSAE, StandardSAEConfig, 0),
    "standard_no_b_dec_in": lambda: _lens(StandardSAE, StandardSAEConfig, 1, apply_b_dec_to_input=False),
    "topk": lambda: _lens(LensTopKSAE, LensTopKSAEConfig, 2, k=K),
    "topk_rescaled": lambda: _lens(LensTopKSAE, LensTopKSAEConfig, 3, k=K, rescale_acts_by_decoder_norm=True),
    "jumprelu": lambda: _lens(JumpReLUSAE, JumpReLUSAEConfig, 4),
}


@pytest.mark.parametrize("case", sorted(LENS_CASES))
def test_saelens_checkpoint_gives_the_library_activations(case, tmp_path, inputs):
    library = LENS_CASES[case]()
    library.save_model(tmp_path)
    loaded = SAE.load_from_disk(tmp_path)  # what the library itself reads back
    ours = load(tmp_path)
    with torch.no_grad():
        expected = loaded.encode(inputs)
        got = ours.encode(inputs)
    assert (expected > 0).any(1).all()  # every cell fires: the comparison is not between zeros
    assert (got - expected).abs().max() <= TOL
    assert ours.d_in == D_IN and ours.n_latents == N_LATENTS


def test_saelens_batchtopk_reads_as_the_library_saves_it_for_inference(tmp_path, inputs):
    library = _lens(BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig, 5, k=4)
    with torch.no_grad():  # away from the initialisation (unit-scale pre-activations, decoder norms far from one)
        library.W_enc.mul_(10.0)
        library.W_dec.mul_(torch.linspace(2.0, 30.0, N_LATENTS)[:, None])
    library.topk_threshold = torch.tensor(1.0, dtype=torch.double)
    library.save_model(tmp_path / "training")  # architecture "batchtopk", with its running threshold
    library.save_inference_model(tmp_path / "inference")  # SAELens' own conversion: a JumpReLU
    inference = SAE.load_from_disk(tmp_path / "inference")
    assert isinstance(inference, JumpReLUSAE)
    with torch.no_grad():
        expected = inference.encode(inputs)
        for folder in ("training", "inference"):
            checkpoint = read_checkpoint(tmp_path / folder)
            assert checkpoint.architecture == ("batchtopk" if folder == "training" else "jumprelu")
            assert (checkpoint.sae.encode(inputs) - expected).abs().max() <= TOL
    assert 0 < float((expected > 0).sum(1).float().mean()) < N_LATENTS


def test_saelens_topk_training_checkpoint_folds_the_decoder_norms(tmp_path, inputs):
    library = _lens(TopKTrainingSAE, TopKTrainingSAEConfig, 6, k=K)  # rescale_acts_by_decoder_norm by default
    with torch.no_grad():
        library.W_dec.mul_(torch.linspace(0.2, 3.0, N_LATENTS)[:, None])  # norms far from one
    library.save_model(tmp_path)
    with torch.no_grad():
        expected = library.encode(inputs)
        got = load(tmp_path).encode(inputs)
    assert (got - expected).abs().max() <= TOL
    assert torch.allclose(load(tmp_path).W_dec.norm(dim=1), torch.ones(N_LATENTS), atol=1e-5)


def test_saelens_hook_is_read(tmp_path):
    torch.manual_seed(0)
    library = StandardSAE(
        StandardSAEConfig(d_in=D_IN, d_sae=N_LATENTS, metadata=SAEMetadata(hook_name="blocks.3.hook_resid_post"))
    )
    library.save_model(tmp_path)
    checkpoint = read_checkpoint(tmp_path)
    assert checkpoint.format == "saelens" and checkpoint.hook == "blocks.3.hook_resid_post"
    assert hook_layer(checkpoint.hook) == "layer_4"


def test_sparsify_checkpoint_gives_the_library_activations(tmp_path, inputs):
    torch.manual_seed(7)
    library = _biases(SparseCoder(D_IN, SparseCoderConfig(num_latents=N_LATENTS, k=K, multi_topk=True)), 7)
    library.save_to_disk(tmp_path / "layers.2")  # the trainer names each folder after its hookpoint
    loaded = SparseCoder.load_from_disk(tmp_path / "layers.2")
    with torch.no_grad():
        out = loaded.encode(inputs)
        expected = torch.zeros(len(inputs), N_LATENTS).scatter(1, out.top_indices, out.top_acts)
        checkpoint = read_checkpoint(tmp_path / "layers.2")
        got = checkpoint.sae.encode(inputs)
    assert (expected > 0).sum(1).float().mean() > K - 1
    assert (got - expected).abs().max() <= TOL
    assert checkpoint.format == "sparsify" and checkpoint.hook == "layers.2" and hook_layer("layers.2") == "layer_3"


def _ours(inference, seed=0, *, batch_topk=False):
    torch.manual_seed(seed)
    sae = TopKSAE(D_IN, N_LATENTS, K, inference=inference, batch_topk=batch_topk)
    with torch.no_grad():
        sae.W_enc.mul_(0.6)
        sae.b_enc.normal_(0, 0.1)
        sae.b_dec.normal_(0, 0.1)
        sae.mean.normal_(0, 1.0)
        sae.scale.fill_(1.7)  # the normaliser is folded into the exported weights
        if inference == "jump":
            sae.jump.uniform_(0, 0.3)
        if batch_topk:
            sae.threshold.fill_(0.2)
    return sae.eval()


@pytest.mark.parametrize(("inference", "batch_topk"), [("encoder", False), ("jump", False), ("encoder", True)])
def test_ours_exported_to_saelens_gives_our_activations(inference, batch_topk, tmp_path, inputs):
    ours = _ours(inference, batch_topk=batch_topk)
    write_saelens(ours, tmp_path / "out", hook="layer_2", model="mlp")
    library = SAE.load_from_disk(tmp_path / "out")
    assert library.cfg.metadata.hook_name == "layer_2"
    with torch.no_grad():
        expected = ours.encode(inputs)
        assert (expected > 0).any(1).all()
        assert (library.encode(inputs) - expected).abs().max() <= TOL
        assert (library.decode(library.encode(inputs)) - ours.decode(expected)).abs().max() <= 1e-5
    back = load(tmp_path / "out")  # and back again
    assert (back.encode(inputs) - expected).abs().max() <= TOL


def test_ours_exported_to_sparsify_gives_our_activations(tmp_path, inputs):
    ours = _ours("encoder")
    write_sparsify(ours, tmp_path / "out")
    library = SparseCoder.load_from_disk(tmp_path / "out")
    with torch.no_grad():
        out = library.encode(inputs)
        got = torch.zeros(len(inputs), N_LATENTS).scatter(1, out.top_indices, out.top_acts)
        expected = ours.encode(inputs)
        assert (got - expected).abs().max() <= TOL
        recon = library.decode(out.top_acts, out.top_indices)
        assert (recon - ours.decode(expected)).abs().max() <= 1e-5
    assert (load(tmp_path / "out").encode(inputs) - expected).abs().max() <= TOL


def test_our_folders_load(tmp_path, inputs):
    ours = _ours("jump")
    save_sae(ours, tmp_path / "run" / "sae", extra={"layer": "latent", "model": "scvi"})
    for folder in (tmp_path / "run" / "sae", tmp_path / "run"):  # an SAE folder, or a results folder holding one
        checkpoint = read_checkpoint(folder)
        assert checkpoint.format == "scconcepts" and checkpoint.hook == "latent"
        assert torch.equal(checkpoint.sae.encode(inputs), ours.encode(inputs))


def _gated(tmp_path):
    torch.manual_seed(0)
    GatedSAE(GatedSAEConfig(d_in=D_IN, d_sae=N_LATENTS)).save_model(tmp_path)


def _layer_norm(tmp_path):
    torch.manual_seed(0)
    StandardSAE(StandardSAEConfig(d_in=D_IN, d_sae=N_LATENTS, normalize_activations="layer_norm")).save_model(tmp_path)


def _sparsify_with(**options):
    def write(tmp_path):
        torch.manual_seed(0)
        SparseCoder(D_IN, SparseCoderConfig(num_latents=N_LATENTS, k=K, **options)).save_to_disk(tmp_path)

    return write


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (_gated, "architecture 'gated' is not supported"),
        (_layer_norm, "normalize_activations 'layer_norm' is not supported"),
        (_sparsify_with(transcode=True), "transcode"),
        (_sparsify_with(skip_connection=True), "skip_connection"),
        (_sparsify_with(activation="groupmax"), "groupmax"),
    ],
)
def test_unsupported_checkpoints_are_refused_in_one_line(write, message, tmp_path):
    write(tmp_path)
    with pytest.raises(InputError, match=message) as error:
        load(tmp_path)
    assert "\n" not in str(error.value)


def test_not_a_checkpoint_and_unexportable_saes_are_refused(tmp_path):
    (tmp_path / "cfg.json").write_text(json.dumps({"d_in": 3}))
    with pytest.raises(InputError, match="is not an SAE checkpoint"):
        load(tmp_path)
    with pytest.raises(InputError, match="sparsify has Top-K encoders only"):
        write_sparsify(_ours("jump"), tmp_path / "a")
    with pytest.raises(InputError, match="pursuit"):
        write_saelens(_ours("pursuit"), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("hook", "layer"),
    [
        ("blocks.0.hook_resid_post", "layer_1"),
        ("blocks.5.hook_resid_pre", "layer_5"),
        ("transformer_encoder.layers.11", "layer_12"),
        ("bert.encoder.layer.3", "layer_4"),
        ("layer_6", "layer_6"),
        ("latent", "latent"),
        ("blocks.2.attn.hook_z", None),
        ("my_sae", None),
    ],
)
def test_hook_names_map_to_our_layers(hook, layer):
    assert hook_layer(hook) == layer
