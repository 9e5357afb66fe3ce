"""The default concept regime (no heavy imports: the CLI's option defaults read it before anything loads).

``programs`` (the default since issue 21): each concept is one side of an independent component of the
embedding, read from the component's median; a concept fires where its component is past a threshold chosen for
a validation R^2 of 0.99 (:func:`scconcepts.sae.fit_programs`). On the planted-program sorted PBMC (scVI 10-d,
``python -m benchmarks programs``) a program planted in half of every type is one concept (AUROC 0.963, 20 of its
30 genes in the concept's top-20 attributed genes) where the former consensus gave 0.598 and none of its genes;
held-out R^2 0.996. What it costs: the median concept fires on about 40% of the cells, and a type is marked only
as well as an independent component marks it (3 of 7 sorted types at AUROC >= 0.85). Components are at most 32
(ICA of more does not reproduce on a few thousand cells); the dictionary is the medoid of 5 FastICA starts, and
out of sample (another split of the cells) only 40% of its concepts recur (the former consensus: 94%).
Figures: README, "Concept regimes".

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

# Defaults of a dictionary learnt on gene-token states (``run --tokens``, ``tl.train_token_sae``), measured at
# transformer width rather than inherited from the 10-d scVI latent (README, "Token defaults"): independent
# components are capped at 32 and do not reproduce on tokens, so token concepts come from one Top-K SAE.
#: Regime of a token dictionary.
TOKEN_REGIME = "sae"
#: SAEs trained for a token dictionary (one: peers train one; its reproducibility is measured by ``evaluate``).
TOKEN_SEEDS = 1
#: Active concepts per token.
TOKEN_K = 8
#: Dictionary size as a multiple of the token state's width.
TOKEN_EXPANSION = 8
#: Optimiser steps of a token dictionary (batches of 256 tokens, as for cells): at least this many, in as few
#: epochs as that takes (one on a million tokens), at most ``TOKEN_MAX_EPOCHS``. Batches of 4,096 tokens for 5
#: epochs were tried first: fewer updates, and the planted token program fell from gene AUROC 0.995 to 0.79-0.93.
TOKEN_MIN_STEPS = 3_000
TOKEN_MAX_EPOCHS = 100
