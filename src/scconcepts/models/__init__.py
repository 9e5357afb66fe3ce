"""Encoders: one protocol (:class:`Encoder`) for scVI, token models and any PyTorch module."""

from scconcepts.models._base import Encoder, LinearFirstLayer
from scconcepts.models._registry import available_models, load_encoder, register_model
from scconcepts.models._torch import TorchEncoder

__all__ = ["Encoder", "LinearFirstLayer", "TorchEncoder", "available_models", "load_encoder", "register_model"]
