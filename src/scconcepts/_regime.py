"""The default concept regime (no heavy imports: the CLI's option defaults read it before anything loads).

``programs`` (the default since issue 21): each concept is one side of an independent component of the
embedding, read from the component's median; cells keep as many concepts as they need for a
held-out R^2 of 0.97 (:func:`scconcepts.sae.fit_programs`). Measured on the planted-program sorted PBMC (scVI
10-d; ``python -m benchmarks programs``), a program planted in half of every type is one concept, where Top-K SAEs
and the former consensus regime split it into one atom per type and state; reproducibility is measured over
bootstrap ICAs. What it costs: concepts are dense-ish (a cell uses about 60% of the components) and mark a
sorted type no better than an independent component does. Figures in the README ("Concept regimes").

``sae`` keeps the former regimes: a consensus of 5 seeds whose Top-K SAEs learn atoms one per cell from
spherical k-means directions (``atom_k=1``, dictionary twice the embedding dimension, cells encoded with ``k``
of the atoms that recur; held-out R^2 0.88-0.90), or one Top-K SAE with ``n_seeds=1``.
"""

#: Concept regimes ``run --regime`` and ``tl.train_sae(regime=)`` accept.
REGIMES = ("programs", "sae")
#: The default regime.
DEFAULT_REGIME = "programs"
#: Seeds: with ``programs`` the ICAs the concepts' reproducibility is measured over (the first is the final fit);
#: with ``sae`` the SAEs whose consensus is kept (1: a single SAE).
DEFAULT_SEEDS = 5
#: Dictionary size of each seed's SAE as a multiple of the embedding dimension (``sae`` regime).
DEFAULT_EXPANSION = 2
#: Active latents per cell while each seed learns its atoms (``sae`` regime).
DEFAULT_ATOM_K = 1
#: Where each seed's atoms start (``sae`` regime).
DEFAULT_ATOM_INIT = "kmeans"
