"""Epoch progress (with ETA) of a Lightning trainer such as scVI's, through :func:`scconcepts._progress.progress`."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import Callback

from scconcepts._progress import progress

#: Metrics shown beside the epoch count when the trainer logs them.
SHOWN_METRICS = ("train_loss_epoch", "elbo_validation", "reconstruction_loss_validation")


class EpochProgress(Callback):
    """Advance a progress bar by one per training epoch: epochs done, elapsed time, ETA and the losses.

    With early stopping the ETA is an upper bound (the run may stop before ``max_epochs``).

    Parameters
    ----------
    desc
        What is being trained, e.g. ``"training scVI"``.

    """

    def __init__(self, desc: str) -> None:
        super().__init__()
        self.desc = desc
        self.bar: Any = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        """Open the bar with the most epochs the trainer may run."""
        self.bar = progress(total=int(trainer.max_epochs), desc=self.desc, unit="epoch")

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """One more epoch; show the latest losses."""
        if self.bar is None:
            return
        shown = {}
        for name in SHOWN_METRICS:
            value = trainer.callback_metrics.get(name)
            if value is not None:
                shown[name.removesuffix("_epoch")] = f"{float(value):.4g}"
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        """Close the bar (early stopping may end before the total)."""
        self.close()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        """Close the bar when training is interrupted."""
        self.close()

    def close(self) -> None:
        """Close the bar once."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
