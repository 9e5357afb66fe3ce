"""User mistakes raise InputError with a message saying what to fix."""

from __future__ import annotations

import pytest
from torch import nn

from scconcepts import tl
from scconcepts._errors import InputError
from scconcepts.models import TorchEncoder
from scconcepts.tl._attribution_table import attribution_table


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "shuffle"}, "unknown attribution method"),
        ({"engine": "magic"}, "unknown engine"),
        ({"key": "other"}, "X_other"),
        ({"n_cells": 0}, "n_cells"),
        ({"n_cells": 2.5}, "n_cells"),
        ({"cells": "best"}, "cells must be"),
        ({"genes": "some"}, "genes must be"),
        ({"concepts": [7]}, "concept 7 does not exist"),
        ({"quantile": 1.5}, "quantile"),
        ({"n_confirm": -1}, "n_confirm"),
        ({"n_confirm": 2.5}, "n_confirm"),
        ({"confirm_share": 1.5}, "confirm_share"),
        ({"sae": None}, "needs the SAE"),
        ({"sae": lambda emb: emb[:, :2]}, "gives 2 concepts"),
    ],
)
def test_bad_options(planted, options, message):
    adata, encoder, concepts = planted
    kwargs = {"encoder": encoder, "sae": concepts, **options}
    with pytest.raises(InputError, match=message):
        tl.attribute(adata, **kwargs)


def test_shortcut_needs_a_linear_first_layer(planted):
    adata, _, concepts = planted
    encoder = TorchEncoder(nn.Sequential(nn.Tanh(), nn.Linear(adata.n_vars, 3)), list(adata.var_names))
    assert encoder.linear_first_layer() is None
    with pytest.raises(InputError, match="no linear first layer"):
        tl.attribute(adata, encoder=encoder, sae=concepts, engine="shortcut")


def test_no_activating_cell(planted):
    adata, encoder, concepts = planted
    silent = adata.obsm["X_concepts"].tolil()
    silent[:, 0] = 0
    adata.obsm["X_concepts"] = silent.tocsr()
    with pytest.raises(InputError, match="no cell activates"):
        tl.attribute(adata, encoder=encoder, sae=concepts, concepts=[0])


def test_table_before_attribution(planted):
    adata, _, _ = planted
    with pytest.raises(InputError, match=r"run tl\.attribute first"):
        attribution_table(adata)
