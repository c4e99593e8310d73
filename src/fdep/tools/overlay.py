"""Colour overlays of predictions on infrared images (uint8 RGB arrays).

* :func:`prediction_overlay` (``fdep predict --overlay``): detected pixels tinted
  red, each target boxed in yellow.
* :func:`detection_overlay` (report grid, the paper's Fig. 3): predicted targets
  matched to a GT target red, unmatched predictions (false alarms) blue, GT
  targets no prediction matched (missed) orange.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

RED = (230, 25, 25)
BLUE = (30, 90, 255)
ORANGE = (255, 150, 0)
YELLOW = (255, 230, 0)
WHITE = (255, 255, 255)


def to_display(image: np.ndarray) -> np.ndarray:
    """A grayscale 0-255 float image as an H x W x 3 uint8 RGB array."""
    gray = np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def _tint(rgb: np.ndarray, where: np.ndarray, colour: Sequence[int], alpha: float) -> None:
    if where.any():
        blend = (1 - alpha) * rgb[where].astype(np.float64) + alpha * np.asarray(colour, dtype=np.float64)
        rgb[where] = np.clip(np.rint(blend), 0, 255).astype(np.uint8)


def prediction_overlay(image: np.ndarray, mask: np.ndarray, boxes: Sequence[tuple[int, int, int, int]] = (),
                       alpha: float = 0.6) -> np.ndarray:
    """Image with ``mask`` tinted red and each ``(y0, x0, h, w)`` box drawn one pixel outside the target."""
    rgb = to_display(image)
    _tint(rgb, np.asarray(mask, dtype=bool), RED, alpha)
    hgt, wid = rgb.shape[:2]
    for y0, x0, h, w in boxes:
        top, left = max(y0 - 1, 0), max(x0 - 1, 0)
        bottom, right = min(y0 + h, hgt - 1), min(x0 + w, wid - 1)
        cv2.rectangle(rgb, (left, top), (right, bottom), YELLOW, thickness=1)
    return rgb


def detection_overlay(image: np.ndarray, correct: np.ndarray, false_alarm: np.ndarray, missed: np.ndarray,
                      alpha: float = 1.0) -> np.ndarray:
    """Image with correct detections red, false alarms blue and missed GT pixels orange (drawn over blue)."""
    rgb = to_display(image)
    # later colours win where masks overlap: a missed target stays visible under a false alarm
    _tint(rgb, np.asarray(false_alarm, dtype=bool), BLUE, alpha)
    _tint(rgb, np.asarray(missed, dtype=bool), ORANGE, alpha)
    _tint(rgb, np.asarray(correct, dtype=bool), RED, alpha)
    return rgb
