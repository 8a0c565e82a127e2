"""guided-player: voice-guided exercises on emotional intimacy, spoken offline."""

__version__ = "0.1.0"
