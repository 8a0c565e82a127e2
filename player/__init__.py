"""guided-player: voice-guided exercises on emotional intimacy, spoken offline."""

import logging

__version__ = "0.1.0"

# A library logs and never configures logging: `guided --debug` shows the log on stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())
