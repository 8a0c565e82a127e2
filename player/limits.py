"""The settings a person can choose and their bounds, in one light module: the faces (the CLI,
the web page) offer them and the stages enforce them, and importing it costs nothing."""

from __future__ import annotations

import os

SAMPLE_RATE = 22050  # every clip, bell and silence, and every export
ENGINES = ("pyttsx3", "espeak-ng", "piper")
DEFAULT_RATE = 150  # words per minute: an unhurried guiding voice
RATE_RANGE = (80, 300)
PAUSE_SCALE_RANGE = (0.05, 5.0)
MINUTES_RANGE = (0.5, 600.0)
DEFAULT_NAMES = ("Partner A", "Partner B")
MAX_NAME = 40
# Speech workers by default: one a core, but no more than 8 (a Piper worker holds its model, about 200 MB).
CORES = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
EXPORT_FORMATS = ("wav", "flac", "ogg", "mp3")
CAPTION_FORMATS = ("vtt", "srt")
