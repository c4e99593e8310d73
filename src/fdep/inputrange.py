"""The input-range policy: what gray values fdep feeds a network, how to declare others, and when to warn.

fdep works on gray values on the 0-255 scale (docs/data.md, "Bit depth and input range"). By default
(``auto``) an 8-bit image is read as it is, a 16-bit image as value/257 (its full 0-65535 range onto 0-255),
and a float image (TIFF mode F) as its values, unscaled. Data that does not fill those ranges needs a
declaration, or the network sees something else than it was trained on without a word: 14-bit camera data
in 16-bit PNGs arrives as 0-64, a float TIFF in kelvin as 295-320, a 0-1 float image as 0-1.

``--input-range`` (:func:`parse_input_range`) declares it: ``14bit`` (0..16383 onto 0-255; any ``Nbit``),
``LO,HI`` (e.g. ``295,320`` kelvin or ``0,1``; values outside are clipped) or ``minmax`` (each image's own
min..max onto 0-255). Weights record the range of the images they were trained on (:func:`range_record`),
and :func:`range_warning` says when inputs lie far from it; weights without a record (older ones) are taken
as trained on 8-bit data (0-255), as every dataset fdep knows is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InputError

#: what weights without a recorded range were trained on: 8-bit images on the 0-255 scale
DEFAULT_RECORD = {"low": 0.0, "high": 255.0, "typical_high": 255.0, "images": 0, "assumed": True}
#: an input is "far" from the training range when its maximum is below typical_high / DARK_FACTOR ...
DARK_FACTOR = 4.0
#: ... or its maximum exceeds the recorded high by more than this fraction of the recorded span (an 8-bit
#: record: any value above ~267; kelvin floats are 295-320) ...
ABOVE_FRACTION = 0.05
#: ... or its minimum lies below the recorded low by more than this fraction (darker scenes are common)
BELOW_FRACTION = 0.25


@dataclass(frozen=True)
class InputRange:
    """A declared input range: ``lo..hi`` of the stored values onto 0-255 (``per_image``: each image's own)."""

    text: str
    lo: float = 0.0
    hi: float = 255.0
    per_image: bool = False

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Stored values (any dtype) -> float32 on the 0-255 scale, clipped to it."""
        a = np.asarray(raw, dtype=np.float64)
        lo, hi = (float(a.min()), float(a.max())) if self.per_image and a.size else (self.lo, self.hi)
        if hi <= lo:  # a flat image under minmax
            return np.zeros(a.shape, np.float32)
        return np.clip((a - lo) * (255.0 / (hi - lo)), 0.0, 255.0).astype(np.float32)


def parse_input_range(text: str | None) -> InputRange | None:
    """``auto``/None -> None (the default reading); ``Nbit``, ``LO,HI`` or ``minmax`` -> an :class:`InputRange`."""
    if text is None:
        return None
    t = str(text).strip().lower().replace(" ", "")
    if t in ("", "auto"):
        return None
    if t == "minmax":
        return InputRange(t, per_image=True)
    if t.endswith("bit") and t[:-3].isdigit():
        bits = int(t[:-3])
        if not 1 <= bits <= 32:
            raise InputError(f"--input-range {text}: bit depth must lie in 1..32")
        return InputRange(t, 0.0, float(2 ** bits - 1))
    parts = t.split(",")
    try:
        lo, hi = (float(v) for v in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        lo = hi = None
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        raise InputError(f"--input-range {text!r}: expected auto, minmax, a bit depth such as 14bit, or LO,HI with "
                         f"LO < HI (e.g. 0,16383 or 295,320)")
    return InputRange(t, lo, hi)


def gray_range(gray: np.ndarray) -> tuple[float, float]:
    """(min, max) of an image as fdep reads it (0-255 scale); (0, 0) when empty."""
    a = np.asarray(gray)
    return (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)


def range_record(ranges: Sequence[tuple[float, float]]) -> dict:
    """What weights record about their training images: lowest min, highest max, median per-image max."""
    if not ranges:
        return dict(DEFAULT_RECORD)
    lows = np.array([r[0] for r in ranges], dtype=np.float64)
    highs = np.array([r[1] for r in ranges], dtype=np.float64)
    return {"low": float(lows.min()), "high": float(highs.max()), "typical_high": float(np.median(highs)),
            "images": len(ranges)}


def usable_record(record: object) -> dict:
    """A recorded range if it is well formed, else the 8-bit default (older weights record none)."""
    if isinstance(record, dict):
        try:
            low, high, typical = (float(record[k]) for k in ("low", "high", "typical_high"))
        except (KeyError, TypeError, ValueError):
            return dict(DEFAULT_RECORD)
        if all(np.isfinite(v) for v in (low, high, typical)) and high > low and typical > low:
            return {**record, "low": low, "high": high, "typical_high": typical}
    return dict(DEFAULT_RECORD)


def is_far(lo: float, hi: float, record: dict) -> str | None:
    """Why one input whose values span lo..hi (0-255 scale) is outside ``record``, or None ("compressed" inputs
    are judged over the whole set: see :func:`range_warning`)."""
    span = record["high"] - record["low"]
    if hi > record["high"] + ABOVE_FRACTION * span:
        return "above"
    if lo < record["low"] - BELOW_FRACTION * span:
        return "below"
    return None


def range_warning(named_ranges: Iterable[tuple[str, float, float]], record: object, declared: str | None = None
                  ) -> str | None:
    """One warning line when inputs lie far from the range the weights were trained on, else None.

    Values above or below the recorded range are judged image by image; a set that uses only a small part of
    it (14-bit data read as 0-64, 0-1 floats) by the median of its images' maxima, since a dark image or two
    are common in real data (NUDT-SIRST has 3 of 1327 below a quarter of its median maximum).
    """
    rec = usable_record(record)
    named = list(named_ranges)
    far = [(name, lo, hi, why) for name, lo, hi in named if (why := is_far(lo, hi, rec))]
    if not far and named and float(np.median([hi for _, _, hi in named])) < rec["typical_high"] / DARK_FACTOR:
        limit = rec["typical_high"] / DARK_FACTOR
        far = [(name, lo, hi, "compressed") for name, lo, hi in named if hi < limit]
    if not far:
        return None
    name, lo, hi, why = far[0]
    trained = (f"{rec['low']:.4g}-{rec['high']:.4g} (median image max {rec['typical_high']:.4g})"
               + (", assumed: these weights record no range" if rec.get("assumed") else ""))
    how = {"above": "values above it (a float image in kelvin?)", "below": "values below it",
           "compressed": "a small part of it (14-bit data in 16-bit PNGs, or a 0-1 float image?)"}[why]
    advice = ("check --input-range" if declared else
              "declare the range with --input-range (e.g. 14bit, 0,1, 295,320 or minmax); see docs/data.md")
    return (f"warning: {len(far)} input image(s) lie far from the gray range the weights were trained on, "
            f"{trained} on fdep's 0-255 scale: {name} spans {lo:.4g}-{hi:.4g}, {how}; {advice}")


def _bits_used(hi: float) -> int:
    return max(int(np.ceil(np.log2(hi + 1))), 1) if hi > 0 else 1


def stored_summary(items: Sequence[tuple[str, str, float, float]]) -> list[str]:
    """Lines describing a set's stored gray values, one per kind (8-bit, 16-bit, float ...), with what fdep's
    default reading makes of them: ``items`` are (name, kind, min, max) as ``fdep.imageio.stored_kind`` gives."""
    lines = []
    by_kind: dict[str, list[tuple[str, float, float]]] = {}
    for name, kind, lo, hi in items:
        by_kind.setdefault(kind, []).append((name, lo, hi))
    for kind, group in sorted(by_kind.items()):
        lows = np.array([g[1] for g in group])
        highs = np.array([g[2] for g in group])
        low, high, median = float(lows.min()), float(highs.max()), float(np.median(highs))
        dark = [g[0] for g in group if g[2] < median / DARK_FACTOR]
        line = (f"{len(group)} {kind} image(s): stored values {low:.6g}-{high:.6g} (per-image maximum: median "
                f"{median:.6g}, lowest {float(highs.min()):.6g})")
        if kind == "16-bit":
            bits = _bits_used(high)
            line += (f"; read by default as value/257, i.e. {low / 257:.4g}-{high / 257:.4g} on fdep's 0-255 scale"
                     + (f"; no value above {2 ** bits - 1}: {bits}-bit data? pass --input-range {bits}bit to "
                        f"predict/test to use the full scale" if bits < 16 else ""))
        elif kind in ("float", "32-bit int"):
            line += ("; read by default as they are (fdep expects 0-255)"
                     + ("" if low >= -1 and 32 <= high <= 256 else
                        f": pass --input-range {low:.6g},{high:.6g} (or the sensor's range, e.g. 0,1 or kelvin) "
                        f"to predict/test"))
        if dark:
            line += (f"; {len(dark)} image(s) with a maximum below a quarter of the median (e.g. {dark[0]})")
        lines.append(line)
    return lines
