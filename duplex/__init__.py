"""duplex-bench: measure how full-duplex speech-to-speech systems behave in conversation."""

__version__ = "0.1.0"
