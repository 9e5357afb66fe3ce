"""The token dictionary's budget: five epochs of 4,096 tokens, or enough epochs for 500 steps on a small store."""

from scconcepts.sae import SAEConfig
from scconcepts.tl._token_sae import token_epochs


def test_a_million_tokens_get_five_epochs():
    assert token_epochs(1_000_000, SAEConfig(batch_size=4096)) == 5  # 196 steps an epoch, 980 in all


def test_a_small_store_gets_enough_epochs_for_500_steps_at_most_100():
    assert token_epochs(44_800, SAEConfig(batch_size=4096)) == 56  # 9 steps an epoch
    assert token_epochs(1_000, SAEConfig(batch_size=4096)) == 100  # one step an epoch: capped
