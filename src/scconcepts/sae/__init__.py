"""Top-K sparse autoencoder: model, trainer, metrics, checkpoints."""

from scconcepts.sae._config import SAEConfig
from scconcepts.sae._encode import encode_csr
from scconcepts.sae._io import load_sae, save_sae
from scconcepts.sae._metrics import informativeness, reconstruction_metrics
from scconcepts.sae._model import TopKSAE
from scconcepts.sae._train import TrainingResult, train

__all__ = [
    "SAEConfig",
    "TopKSAE",
    "TrainingResult",
    "encode_csr",
    "informativeness",
    "load_sae",
    "reconstruction_metrics",
    "save_sae",
    "train",
]
