"""The market model: one module per mechanism (see docs/architecture.md).

``from sim.model import MarketModel`` builds and steps the model; the mechanism
modules (:mod:`~sim.model.exposure`, :mod:`~sim.model.engagement`,
:mod:`~sim.model.answers`, :mod:`~sim.model.attitude`, :mod:`~sim.model.following`,
:mod:`~sim.model.purchase`, :mod:`~sim.model.crm`, :mod:`~sim.model.benefits`,
:mod:`~sim.model.guanxi`) hold the equations, which the agent-per-user reference
(``tests/reference``) calls too.
"""

# First, before any kernel module imports numba: importing _numba_cache points numba
# at a writable cache directory for the compiled kernels (or turns their cache off).
from sim.model import _numba_cache  # noqa: F401

# isort: split
from sim.model.entries import Expressed, users_by_firm
from sim.model.ledger import FLOWS
from sim.model.model import MarketModel
from sim.model.reporting import FIRM_REPORTERS, MODEL_REPORTERS

__all__ = [
    "FIRM_REPORTERS",
    "FLOWS",
    "MODEL_REPORTERS",
    "Expressed",
    "MarketModel",
    "users_by_firm",
]
