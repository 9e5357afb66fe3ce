"""``tl.attribute(device=)``: the encoder and the SAE are moved there; the scores do not depend on it on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scconcepts import tl
from scconcepts._errors import InputError


def test_cpu_device_gives_the_same_scores(planted):
    adata, encoder, concepts = planted
    options = {"encoder": encoder, "sae": concepts, "n_cells": 10, "copy": True}
    here, moved = tl.attribute(adata, **options), tl.attribute(adata, device="cpu", **options)
    np.testing.assert_array_equal(here.varm["concepts_attribution"], moved.varm["concepts_attribution"])
    assert encoder.device == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_absent_gpu_is_refused_before_any_work(planted):
    adata, encoder, concepts = planted
    with pytest.raises(InputError, match="no CUDA GPU"):
        tl.attribute(adata, encoder=encoder, sae=concepts, device="cuda")
    assert "concepts_attribution" not in adata.varm
