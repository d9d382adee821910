"""Answers (phase 4): firms answer a share of comments, within capacity and budget.

A share ``comment_share`` of engagements are comments or messages that a brand can
answer. A firm aims to answer ``responsiveness`` of the comments it gets in each
market; it can answer at most its response capacity in real comments a day (which
grows with social CRM capability, :func:`sim.model.crm.response_capacity`) and what
the budget left after posts and ads pays for at its staff cost per answer. Comments
are counted per real person (simulated comments x people per user) and firms plan on
their running volume (:func:`expected_comments`), so the share answered does not
depend on the number of simulated users. An answered comment raises the commenter's attitude;
an ignored one lowers it (:mod:`sim.model.attitude`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model import kernels
from sim.model.elementwise import running_mean
from sim.model.entries import Touched

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel


def budget_left[T](budget: T, spent: T) -> T:
    """What is left of the day's budget after posts and ads (never below 0)."""
    return np.maximum(0.0, budget - spent)


COMMENT_WINDOW = 7  # days: the time constant of the comment volume firms staff for


def expected_comments(previous: np.ndarray | None, today: np.ndarray) -> np.ndarray:
    """The real comments a day a firm plans its answers for, per (firm, market): a
    running average (time constant :data:`COMMENT_WINDOW` days) that includes today's.

    Planning on the running volume rather than the day's count keeps the share
    answered independent of the number of simulated users (a simulated comment stands
    for thousands of real ones, so daily counts are lumpy at low resolution).
    """
    return running_mean(previous, today, COMMENT_WINDOW)


def answer_share(
    responsiveness: np.ndarray,
    comments: np.ndarray,
    capacity: np.ndarray,
    budget_left: np.ndarray,
    cost_per_response: np.ndarray,
) -> np.ndarray:
    """Share of comments answered per (firm, market).

    The comments each firm wants to answer (responsiveness x comments, per market)
    are scaled down together when they exceed what it can answer: its capacity,
    or the answers the budget left pays for.
    """
    wanted = responsiveness * comments
    total = wanted.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        affordable = np.where(cost_per_response > 0, budget_left / cost_per_response, np.inf)
        can_answer = np.minimum(capacity, affordable)
        scale = np.where(total > 0, np.minimum(1.0, can_answer / total), 0.0)
        return np.where(comments > 0, wanted * scale[:, None] / comments, 0.0)


def answer_comments(
    model: MarketModel, ledger: Ledger, touched: Touched, engagements: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which touched entries that commented today get an answer, and which are ignored."""
    firms = model.ordered_firms
    comment_share = np.full(engagements.size, model.spec.users.comment_share)
    comments = kernels.binomial(model.rng, engagements, comment_share)
    commented = comments > 0
    ledger.add("comments", touched.cell, comments)
    expected = model.expected_comments = expected_comments(
        model.expected_comments, ledger["comments"] * model.people_per_user[None, :]
    )
    share = answer_share(
        model.strategy.responsiveness,
        expected,
        np.array([firm.response_capacity for firm in firms]),
        budget_left(model.strategy.budget.sum(axis=1), np.array([f.costs for f in firms])),
        np.array([firm.cost_per_response for firm in firms]),
    )
    p_answer = share[touched.firm, touched.market]
    answered = commented & (model.rng.random(touched.index.size) < p_answer)
    ignored = commented & ~answered
    ledger.add("answered", touched.cell, answered)
    ledger.add("ignored", touched.cell, ignored)
    return answered, ignored
