import pytest
import torch

from scconcepts.sae._topk import decode_dense, decode_sparse, topk_encode_dense, topk_encode_sparse


@pytest.mark.parametrize("k", [1, 4])
def test_sparse_topk_gradients_equal_dense(k):
    torch.manual_seed(0)
    x = torch.randn(16, 8, dtype=torch.float64, requires_grad=True)
    grads = {}
    for name, encode, decode in [
        ("sparse", topk_encode_sparse, decode_sparse),
        ("dense", topk_encode_dense, decode_dense),
    ]:
        torch.manual_seed(1)
        w_enc = torch.randn(32, 8, dtype=torch.float64, requires_grad=True)
        b_enc = torch.randn(32, dtype=torch.float64, requires_grad=True)
        w_dec = torch.randn(32, 8, dtype=torch.float64, requires_grad=True)
        values, indices = encode(x, w_enc, b_enc, k)
        loss = (decode(values, indices, w_dec) - x.detach()).pow(2).sum()
        grads[name] = torch.autograd.grad(loss, [x, w_enc, b_enc, w_dec])
    for sparse, dense in zip(grads["sparse"], grads["dense"], strict=True):
        torch.testing.assert_close(sparse, dense)


def test_sparse_topk_passes_gradcheck():
    torch.manual_seed(0)
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(12, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: topk_encode_sparse(x, w, b, 3)[0], (x, w, b))
