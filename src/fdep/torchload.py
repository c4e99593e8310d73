"""Why ``torch.load(weights_only=True)`` refused a file, in one line: shared by the checkpoint, VFM and
state-dict readers, and free of torch itself (the message is parsed, nothing is loaded)."""

from __future__ import annotations

import re


def load_failure_reason(e: BaseException) -> tuple[str, bool]:
    """(one-line reason, whether the file was refused as unsafe) for an exception of ``torch.load(weights_only=True)``.

    PyTorch's own message for a file holding pickled code runs to many lines and suggests turning
    the safety off; this says instead what was found (e.g. ``GLOBAL posix.system``).
    """
    text = str(e).strip()
    if "Weights only load failed" in text or "WeightsUnpickler" in text:
        m = re.search(r"GLOBAL [\w.]+", text)
        if m:  # a reference to Python code or classes: the file was made to run more than tensors
            return (f"it holds pickled Python objects other than tensors and plain data ({m.group(0)}), which fdep "
                    f"never loads"), True
        m = re.search(r"Unsupported operand \S+|invalid load key[^\n]*", text)
        return f"damaged, or not a PyTorch weights file ({m.group(0) if m else 'unreadable pickle'})", False
    first = text.splitlines()[0] if text else e.__class__.__name__
    return first[:200], False
