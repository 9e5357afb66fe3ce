"""Top-K sparse autoencoder: model, trainer, metrics, checkpoints (ours, SAELens' and sparsify's: :func:`load`)."""

from scconcepts.sae._checkpoint import Checkpoint
from scconcepts.sae._composite import find_composites
from scconcepts.sae._config import SAEConfig
from scconcepts.sae._consensus import ConsensusResult, consensus_train
from scconcepts.sae._encode import encode_csr
from scconcepts.sae._external import load, read_checkpoint
from scconcepts.sae._io import load_sae, save_sae
from scconcepts.sae._metrics import informativeness, reconstruction_metrics
from scconcepts.sae._model import TopKSAE
from scconcepts.sae._seed_run import SeedRun, train_seed
from scconcepts.sae._train import Split, TrainingResult, split_rows, train

__all__ = [
    "Checkpoint",
    "ConsensusResult",
    "SAEConfig",
    "SeedRun",
    "Split",
    "TopKSAE",
    "TrainingResult",
    "consensus_train",
    "encode_csr",
    "find_composites",
    "informativeness",
    "load",
    "load_sae",
    "read_checkpoint",
    "reconstruction_metrics",
    "save_sae",
    "split_rows",
    "train",
    "train_seed",
]
