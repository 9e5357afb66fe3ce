"""The token dictionary's budget: as few epochs as make 3,000 steps of 256 tokens, at most 100."""

from scconcepts.sae import SAEConfig
from scconcepts.tl._token_sae import token_epochs


def test_a_million_tokens_get_two_epochs_of_over_3000_steps():
    assert token_epochs(1_000_000, SAEConfig()) == 2  # 750,000 training tokens: 2,930 steps of 256 an epoch


def test_a_small_store_gets_enough_epochs_for_3000_steps_at_most_100():
    assert token_epochs(137_681, SAEConfig()) == 8  # 404 steps an epoch
    assert token_epochs(4_800, SAEConfig()) == 100  # 3,600 training tokens, 15 steps of 256 an epoch: capped
