"""Keep the chatter of the libraries scconcepts drives out of the user's way, in Python as on the command line.

Lightning (which scVI trains with) logs "GPU available", "Seed set to 0" and a tip advertising its
cloud logger at INFO through handlers of its own, and its dependencies warn about their own
deprecations. None of it is about the user's data. :func:`quiet_libraries` turns those loggers to
WARNING and hides deprecation warnings raised inside these libraries (and Lightning's
"possible user warning" hints about its own settings) for the length of a call; every other
warning, and every warning about the user's own code, still shows.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: Loggers whose INFO messages are library chatter.
CHATTY_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "lightning_fabric", "pytorch_lightning", "scvi")
#: Modules whose own deprecation warnings are hidden (a regular expression matched at the module's start).
LIBRARY_MODULES = r"(lightning|lightning_fabric|pytorch_lightning|scvi|anndata|torch|torchmetrics|jax|flax|optax)(\.|$)"
DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Within the block (or the decorated function): library INFO chatter and library deprecations hidden."""
    try:  # Lightning sets its loggers to INFO when imported: import it first, then turn them down
        import lightning.pytorch  # noqa: F401
    except ImportError:  # pragma: no cover - lightning comes with scvi-tools
        pass
    levels = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for category in DEPRECATIONS:
                warnings.filterwarnings("ignore", category=category, module=LIBRARY_MODULES)
            try:
                from lightning.fabric.utilities.warnings import PossibleUserWarning
            except ImportError:  # pragma: no cover
                pass
            else:
                warnings.filterwarnings("ignore", category=PossibleUserWarning)
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
