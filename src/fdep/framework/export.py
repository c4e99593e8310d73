"""``export_light``: the light branch of a trained FDEPModel as a plain zoo network."""

from __future__ import annotations

from ..errors import ModelError
from ..models.base import SIRSTNet
from ..models.external import ExternalNetwork
from ..models.factory import copy_network, create_model
from ..models.pretrained import model_kwargs
from .model import FDEPModel


def export_light(model: FDEPModel) -> SIRSTNet | ExternalNetwork:
    """A fresh instance of the network carrying the shared weights, in eval mode (a network of your own:
    a copy of its :class:`ExternalNetwork`, whose ``user_module`` is your class with those weights).

    Its outputs equal ``model.eval()(x)`` for variants "fdep" and "original" exactly, and its
    parameter count is the original network's. (For "fdep-main" the light network was never
    trained on its own; exporting it is refused.)
    """
    if not isinstance(model, FDEPModel):
        raise ModelError(f"export_light needs an FDEPModel, got {type(model).__name__}")
    if model.variant == "fdep-main":
        raise ModelError("variant 'fdep-main' infers with the main branch (VFM + SAMF); there is no light network "
                         "to export -- train with variant 'fdep' (CO-ISD)")
    src = model.network
    if isinstance(src, ExternalNetwork):
        return copy_network(src).eval()
    net = create_model(src.model_name, in_chans=src.in_chans, **model_kwargs(src))
    try:
        net.load_state_dict(src.state_dict(), strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise ModelError(f"{src.model_name}: rebuilt network does not match the trained one ({first}); a network "
                         f"built with non-default arguments must record them in `init_kwargs`") from None
    return net.to(next(src.parameters()).device).eval()
