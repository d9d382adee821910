"""Following (phase 6): users follow firms whose content they consumed, and leave.

Follow (Zhang 2025: transactional content raises following in both markets,
relational content where relational motives are strong): a user who consumed a
firm's content today and does not follow it follows with a probability that rises
with the content's transactional and relational shares times the user's motives,
SNS dependency and attitude.

Unfollow: every follower leaves at a base rate, more when fatigued by over-posting
today or with a negative attitude; the firm's CRM capability retains followers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from sim.model.elementwise import sigmoid
from sim.model.entries import Touched, per_entry
from sim.model.kernels import doubled, first_success, next_success

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel
    from sim.scenario import UsersSection


def follow_probability[T](
    users: UsersSection,
    transactional_share: T,
    transactional_motive: T,
    relational_share: T,
    relational_motive: T,
    dependency: T,
    attitude: T,
) -> T:
    """P(following a firm whose content the user consumed today)."""
    return sigmoid(
        users.follow_intercept
        + users.follow_per_transactional * transactional_share * transactional_motive
        + users.follow_per_relational * relational_share * relational_motive
        + users.follow_per_dependency * dependency
        + users.follow_per_attitude * attitude
    )


def retention[T](retention_effect: float, capability: T) -> T:
    """Factor on a firm's followers' unfollow probability: 1 - effect x CRM capability."""
    return 1.0 - retention_effect * capability


def unfollow_probability(
    base: float,
    per_fatigue: float,
    fatigue: float,
    per_negative: float,
    attitude: float,
    kept: float,
) -> float:
    """P(a follower leaves today): (base + per_fatigue x fatigue + per_negative x
    max(0, -attitude)) x retention (:func:`retention`). One follower at a time (it
    runs compiled, in :func:`unfollowing`, and in the reference)."""
    return (base + per_fatigue * fatigue + per_negative * max(0.0, -attitude)) * kept


_unfollow_probability = numba.njit(cache=True, inline="always")(unfollow_probability)


def follow_and_unfollow(
    model: MarketModel,
    ledger: Ledger,
    touched: Touched,
    consumed: np.ndarray,
    excess: np.ndarray,
    followers: tuple[np.ndarray, np.ndarray],
) -> None:
    pop, stocks = model.population, model.stocks
    following = pop.following.reshape(-1)
    could_follow = (consumed > 0) & ~following[touched.index]
    p_follow = follow_probability(
        model.spec.users,
        per_entry(model.strategy.transactional_share, touched.cell),
        pop.transactional_motive[touched.user],
        per_entry(model.strategy.relational_share, touched.cell),
        pop.relational_motive[touched.user],
        pop.sns_dependency[touched.user],
        pop.attitude.reshape(-1)[touched.index],
    )
    follows = could_follow & (model.rng.random(touched.index.size) < p_follow)

    leaves = unfollows(model, touched, excess, followers)
    joins = touched.index[follows]
    following[leaves] = False
    following[joins] = True
    stocks.following_by_firm[leaves % model.n_firms, leaves // model.n_firms] = False
    stocks.following_by_firm[touched.firm[follows], touched.user[follows]] = True

    ledger.add("new_followers", touched.cell, follows)
    left = model.cells.total(model.cells.of_entries(leaves))
    ledger["unfollows"] += left
    stocks.followers += ledger["new_followers"] - left


def unfollows(model, touched, excess, followers) -> np.ndarray:
    """Flat entries of followers who unfollow today (:func:`unfollowing`).

    Fatigue comes from own posts only, so the fatigued entries are followers.
    """
    pop, users = model.population, model.spec.users
    kept = retention(model.spec.crm.retention_effect, model.crm_capability())
    fatigued = excess > 0
    key = touched.firm[fatigued] * pop.n_users + touched.user[fatigued]
    order = np.argsort(key)
    users_of_firm, bounds = followers
    return unfollowing(
        users_of_firm,
        bounds,
        pop.attitude.reshape(-1),
        users.unfollow_base,
        kept,
        users.unfollow_per_fatigue,
        users.unfollow_per_negative_attitude,
        key[order],
        excess[fatigued][order],
        pop.n_users,
        model.rng,
    )


@numba.njit(cache=True)
def unfollowing(
    followers,
    firm_bounds,
    attitude,
    base,
    kept,
    per_fatigue,
    per_negative,
    fatigued_key,
    fatigue,
    n_users,
    rng,
):
    """Followers who unfollow today, one pass per firm over its followers.

    P (:func:`unfollow_probability`) is drawn in two parts whose union has exactly
    this probability: every follower leaves at the base rate b_f = unfollow_base x
    kept[f] (the successes only, through geometric gaps), and a follower above it
    (fatigued today or with a negative attitude) who stayed leaves besides with
    probability (P - b_f) / (1 - b_f). ``fatigued_key`` (firm x users + user,
    ascending) and ``fatigue`` give today's over-posting fatigue. Returns the flat
    entries that leave.
    """
    n_firms = firm_bounds.size - 1
    leaving = np.empty(16, np.int64)
    n = 0
    j = 0  # position in the fatigued entries
    for f in range(n_firms):
        b = _unfollow_probability(base, per_fatigue, 0.0, per_negative, 0.0, kept[f])
        mine = followers[firm_bounds[f] : firm_bounds[f + 1]]
        next_base = first_success(rng, b)
        for i in range(mine.size):
            u = mine[i]
            leaves = False
            if i == next_base:
                leaves = True
                next_base = next_success(rng, i, b)
            key = f * n_users + u
            while j < fatigued_key.size and fatigued_key[j] < key:
                j += 1
            tired = fatigue[j] if j < fatigued_key.size and fatigued_key[j] == key else 0.0
            a = np.float64(attitude[u * n_firms + f])
            if not leaves and b < 1.0 and (tired > 0.0 or a < 0.0):
                p = _unfollow_probability(base, per_fatigue, tired, per_negative, a, kept[f])
                leaves = rng.random() * (1.0 - b) < p - b
            if leaves:
                if n == leaving.size:
                    leaving = doubled(leaving)
                leaving[n] = u * n_firms + f
                n += 1
    return leaving[:n]
