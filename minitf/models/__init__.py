"""Language models assembled from :mod:`minitf.nn`: GPT and the CharRNN baseline."""
from .gpt import GPT, GPTConfig, gpt_param_count  # noqa: F401
from .charrnn import CharRNN, CharRNNConfig  # noqa: F401

__all__ = ["GPT", "GPTConfig", "gpt_param_count", "CharRNN", "CharRNNConfig"]
