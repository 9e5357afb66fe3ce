"""Which of our model layers an SAE checkpoint's hook names, and the one-line refusal when it is not ``--layer``.

Our representations are named ``latent``, ``hidden``, ``hidden_<i>`` (scVI), ``embedding`` (a torch module) and
``layer_<i>`` (scGPT, Geneformer: the output of transformer layer ``i`` counted from 1 at the input, ``layer_0``
the input embedding). Libraries name hooks after module paths, counted from 0:

- TransformerLens (SAELens): ``blocks.<i>.hook_resid_post`` is the output of block ``i`` (our ``layer_<i+1>``),
  ``blocks.<i>.hook_resid_pre`` its input (our ``layer_<i>``);
- a module path ending in ``layers.<i>``, ``layer.<i>`` or ``h.<i>`` (sparsify's hookpoints, scGPT's
  ``transformer_encoder.layers.<i>``, Geneformer's ``bert.encoder.layer.<i>``) is the output of that module (our
  ``layer_<i+1>``).

Any other hook (an attention or MLP output, a name of the user's) cannot be matched to a layer: it is logged and
not refused, since the dimension is still checked.
"""

from __future__ import annotations

import logging
import re

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

#: Our own representation names, matched as they are.
_OURS = re.compile(r"^(latent|hidden|hidden_\d+|embedding|layer_\d+)$")
#: (pattern, offset): the layer number is the captured module index plus the offset.
_PATTERNS = (
    (re.compile(r"^(?:.*\.)?blocks\.(\d+)\.hook_resid_post$"), 1),
    (re.compile(r"^(?:.*\.)?blocks\.(\d+)\.hook_resid_pre$"), 0),
    (re.compile(r"^(?:.*\.)?(?:layers|layer|h)\.(\d+)$"), 1),
)


def hook_layer(hook: str) -> str | None:
    """Our name of the layer a hook reads (``layer_<i>``, or one of our own names), or None when unknown."""
    if _OURS.match(hook):
        return hook
    for pattern, offset in _PATTERNS:
        match = pattern.match(hook)
        if match:
            return f"layer_{int(match.group(1)) + offset}"
    return None


def check_hook(hook: str | None, layer: str, *, source: str) -> None:
    """Refuse (one line) an SAE whose hook names another layer than ``layer``; log a hook that names none.

    Parameters
    ----------
    hook
        The hook the checkpoint names (SAELens ``hook_name``, a sparsify hookpoint), or None.
    layer
        The representation the cells are embedded at (``--layer`` or the model's default).
    source
        The checkpoint, for the messages.

    """
    if hook is None:
        return
    named = hook_layer(hook)
    if named is None:
        logger.warning("%s was trained on hook %r, which names no layer scconcepts knows; it is used at %s",
                       source, hook, layer)  # fmt: skip
    elif named != layer:
        raise InputError(
            f"{source} was trained on hook {hook!r} ({named}) but the cells are embedded at {layer}; "
            f"pass --layer {named} or an SAE trained at {layer}"
        )
