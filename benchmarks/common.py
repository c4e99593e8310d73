"""What the benchmark scripts share: where this checkout and the shared data are, this checkout's src for child
processes, the default device, and the marked section of docs/ a script rewrites with its measured table.

Scripts import it as a sibling (``python benchmarks/NAME.py`` puts benchmarks/ first on ``sys.path``);
it imports no torch, so scripts that time imports stay clean.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: the repository checkout the scripts belong to, and its package sources
ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def src_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default: this process's environment) with this checkout's src first on PYTHONPATH, plus
    ``extra``: child processes then run this checkout's fdep, installed or not."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def use_src() -> None:
    """Import fdep from this checkout's src in this process too (first on ``sys.path``)."""
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))


def shared_data() -> Path:
    """The optional real datasets beside the checkout: ../shared/data, or $FDEP_SHARED_DATA."""
    env = os.environ.get("FDEP_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def default_device() -> str:
    """``cuda`` when torch sees a GPU, else ``cpu`` (torch is imported here, on first use)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class DocSection:
    """The section ``<!-- NAME:begin -->`` ... ``<!-- NAME:end -->`` a script rewrites in a Markdown file,
    through ``fdep.docsections`` (markers count only on a line of their own)."""

    name: str

    @property
    def markers(self) -> tuple[str, str]:
        """The begin and end marker lines."""
        from fdep.docsections import markers

        return markers(self.name)

    def replace(self, text: str, body: str, where: str = "<text>") -> str:
        """``text`` with the section's body replaced by ``body``; InputError naming ``where`` without one."""
        from fdep.docsections import replace_section

        return replace_section(text, self.name, body, where)

    def check(self, path: str | Path) -> str:
        """The file's text, after checking it exists and holds the section (call before measuring)."""
        from fdep.docsections import check_section

        return check_section(path, self.name)

    def write(self, path: str | Path, body: str) -> None:
        """Replace the section's body in the file at ``path``, atomically."""
        from fdep.docsections import write_section

        write_section(path, self.name, body)
