"""V7 and V8 moved to :mod:`sim.validation.bass` and :mod:`sim.validation.goldenberg`."""

from sim.validation.bass import run_bass
from sim.validation.goldenberg import run_goldenberg

__all__ = ["run_bass", "run_goldenberg"]
