"""labtui: a terminal experiment monitor for neural-network training."""

__version__ = "0.1.0"
