"""``--model NAME --weights W`` of fdep predict/test: turned into the folder the tools load."""

from __future__ import annotations

import argparse

from ..errors import InputError


def checkpoint_from_weights(args: argparse.Namespace):
    """(checkpoint path or None, classical model name or None, WeightSet or None) for the parsed arguments."""
    weights = getattr(args, "weights", None)
    if weights is None:
        return args.checkpoint, args.model, None
    if not args.model:
        raise InputError("--weights needs --model NAME (the network the weights are for); a .ckpt or folder of your "
                         "own goes to --checkpoint")
    from ..models import get_model_factory
    from ..models.spec import is_spec
    from ..models.weight_sources import weights_folder

    if not is_spec(args.model) and getattr(get_model_factory(args.model), "kind", "learned") == "classical":
        raise InputError(f"{args.model} is a classical method: it runs without weights (drop --weights)")
    folder, ws = weights_folder(args.model, weights)
    return str(folder), None, ws
