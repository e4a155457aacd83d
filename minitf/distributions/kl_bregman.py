"""The generic KL pair of :class:`.exp_family.ExponentialFamily` (torch's): two members of one
family without a closed form of their own diverge by the Bregman divergence of the log-normaliser
(:func:`.exp_family.bregman_kl`); members of different families raise NotImplementedError."""
from __future__ import annotations

from .exp_family import ExponentialFamily, bregman_kl
from .kl import register_kl

__all__: list = []

register_kl(ExponentialFamily, ExponentialFamily)(bregman_kl)
