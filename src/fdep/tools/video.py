"""Reading video files frame by frame for ``fdep predict --input VIDEO`` (OpenCV's VideoCapture).

Infrared search and track works on video. Frames are decoded one at a time (memory does not grow with the
length of the video), converted to gray (ITU-R 601 luma, as images are) on the 0-255 scale, or mapped by
a declared input range (``fdep.inputrange``). Which containers and codecs can be read depends on the
FFmpeg that OpenCV was built with; a file it cannot open is one line naming it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError

#: file suffixes read as video
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm", ".ts")


def is_video(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file fdep reads as a video (by its suffix)."""
    p = Path(path)
    return p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()


class VideoFrames:
    """The frames of a video file: ``len()`` is the container's frame count (an estimate for some formats),
    ``fps`` its frame rate (0 when unknown); iterating yields (frame index, H x W float32 gray)."""

    def __init__(self, path: str | os.PathLike, input_range=None) -> None:
        import cv2

        self.path = Path(path)
        self.input_range = input_range
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise InputError(f"{self.path}: cannot open video (OpenCV {cv2.__version__} found no reader for this "
                             f"container or codec; convert it, e.g. to MJPG .avi or mp4v .mp4, or to images)")
        self.count = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0)
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        cap.release()

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        try:
            k = 0
            while True:
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                yield k, self._gray(frame)
                k += 1
        finally:
            cap.release()
        if k == 0:
            raise InputError(f"{self.path}: the video holds no frame that can be decoded")

    def _gray(self, frame: np.ndarray) -> np.ndarray:
        import cv2

        if frame.ndim == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
        if self.input_range is not None:
            return self.input_range.apply(frame)
        scale = 257.0 if frame.dtype == np.uint16 else 1.0
        return (frame.astype(np.float32) / np.float32(scale)) if scale != 1.0 else frame.astype(np.float32)


def frame_stem(video: Path, k: int) -> str:
    """Output file stem of frame ``k`` of ``video``: ``<video stem>_<k, 6 digits>``."""
    return f"{video.stem}_{k:06d}"
