"""Following (phase 6): users follow firms whose content they consumed, and leave.

Follow (Zhang 2025: transactional content raises following in both markets,
relational content where relational motives are strong): a user who consumed a
firm's content today and does not follow it follows with a probability that rises
with the content's transactional and relational shares times the user's motives,
SNS dependency and attitude, and falls with the brands the user already follows
beyond its market's mean (limited attention: users follow a few brands).

Unfollow: every follower leaves at a base rate, more when annoyed today by the
firm's own posts it saw (over-posting beyond the fatigue threshold, promotional
posts, posts that do not fit its motives: the three reasons the surveys report,
Sprout Social 2016) or with a negative attitude; the firm's CRM capability retains
followers. Each unfollow is booked over its causes (:func:`sim.model.kernels.leave`).

Switching propensity (variety seeking, McAlister & Pessemier 1982): every user has
a persistent trait s (mean 1, ``users.switching_dispersion`` its variance; see
:mod:`sim.model.users`) that multiplies its odds of following a brand
(:func:`with_switching`, both after content and after a purchase) and its daily
probability of leaving one (:func:`unfollow_probability`). Users who follow readily
leave readily, so new followers are enriched in switchers and a cohort of new
followers loses members faster than the stock of followers does: the hazard of
leaving falls with tenure by selection (frailty, Vaupel, Manton & Stallard 1979), it
is not written in.

A user's brands followed (scenario brands and others) dilute the reach of each
brand's posts to it (:func:`reach_dilution`), so the organic reach of a user is
updated when it follows or leaves a brand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from sim.model import kernels
from sim.model.elementwise import sigmoid
from sim.model.entries import Touched, distinct, per_entry
from sim.model.kernels import doubled, first_success, next_success_at
from sim.model.ledger import FLOWS

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel
    from sim.scenario import UsersSection


def with_switching[T](p: T, switching: T) -> T:
    """P with its odds multiplied by the switching propensity: p s / (1 - p + p s)
    (the logit shifted by log s; p for s = 1, 0 for s = 0, 1 for p = 1)."""
    return p * switching / (1.0 - p + p * switching)


def follow_probability[T](
    users: UsersSection,
    transactional_share: T,
    transactional_motive: T,
    relational_share: T,
    relational_motive: T,
    dependency: T,
    attitude: T,
    brands_above_mean: T = 0.0,
    switching: T = 1.0,
) -> T:
    """P(following a firm whose content the user consumed today); ``switching``
    multiplies its odds (:func:`with_switching`)."""
    return with_switching(
        sigmoid(
            users.follow_intercept
            + users.follow_per_transactional * transactional_share * transactional_motive
            + users.follow_per_relational * relational_share * relational_motive
            + users.follow_per_dependency * dependency
            + users.follow_per_attitude * attitude
            - users.follow_per_brand_followed * brands_above_mean
        ),
        switching,
    )


def reach_dilution[T](attention_slots: float, mean_followed: T, followed: T) -> T:
    """Factor on a brand's organic reach to a user who follows ``followed`` brands:
    (slots + market mean) / (slots + followed); 1 for a user at the market's mean."""
    return (attention_slots + mean_followed) / (attention_slots + followed)


def annoyance[T](users: UsersSection, excess: T, own_posts: T, promotional_share: T, fit: T) -> T:
    """Added unfollow probability from today's own posts seen: over-posting, promotions
    and irrelevant content (1 - fit with the user's motives)."""
    irrelevance = 1.0 - fit
    return (
        users.unfollow_per_fatigue * excess
        + users.unfollow_per_promotion * promotional_share * own_posts
        + users.unfollow_per_irrelevance * irrelevance * own_posts
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
    switching: float = 1.0,
) -> float:
    """P(a follower leaves today): (base + per_fatigue x fatigue + per_negative x
    max(0, -attitude)) x retention (:func:`retention`) x the follower's switching
    propensity, at most 1. One follower at a time (it runs compiled, in
    :func:`unfollowing`, and in the reference)."""
    p = (base + per_fatigue * fatigue + per_negative * max(0.0, -attitude)) * kept
    return min(1.0, p * switching)


_unfollow_probability = numba.njit(cache=True, inline="always")(unfollow_probability)


CAUSES = ("base", "overposting", "promotion", "irrelevance", "attitude")
# The flows kernels.leave books: each cause's share of the unfollows, then the unfollows.
_LEAVE_ROWS = np.array(
    [FLOWS.index(f"unfollows_{name}") for name in CAUSES] + [FLOWS.index("unfollows")]
)


def follow_and_unfollow(
    model: MarketModel,
    ledger: Ledger,
    touched: Touched,
    consumed: np.ndarray,
    excess: np.ndarray,
    fit: np.ndarray,
    followers: tuple[np.ndarray, np.ndarray],
) -> None:
    pop, stocks, users = model.population, model.stocks, model.spec.users
    following = pop.following.reshape(-1)
    could_follow = (consumed > 0) & ~following[touched.index]
    brands_above_mean = (
        pop.brands_followed[touched.user] - model.brands_followed_mean[touched.market]
    )
    p_follow = follow_probability(
        users,
        per_entry(model.strategy.transactional_share, touched.cell),
        pop.transactional_motive[touched.user],
        per_entry(model.strategy.relational_share, touched.cell),
        pop.relational_motive[touched.user],
        pop.sns_dependency[touched.user],
        pop.attitude.reshape(-1)[touched.index],
        brands_above_mean,
        pop.switching[touched.user],
    )
    follows = could_follow & (model.rng.random(touched.index.size) < p_follow)

    promotional = per_entry(model.strategy.promotional_share, touched.cell)
    parts = {
        "overposting": users.unfollow_per_fatigue * excess,
        "promotion": annoyance(users, 0.0, touched.own_posts, promotional, 1.0),
        "irrelevance": annoyance(users, 0.0, touched.own_posts, 0.0, fit),
        # (the promotion part above passes fit 1: no irrelevance in it)
    }
    annoyed = parts["overposting"] + parts["promotion"] + parts["irrelevance"]
    leaves = unfollows(model, touched, annoyed, followers)
    # Book each unfollow over its causes in proportion to their parts of its probability
    # (a leaver annoyed by promotions and by over-posting counts for both), clear it.
    kernels.leave(
        leaves,
        touched.index,
        parts["overposting"],
        parts["promotion"],
        parts["irrelevance"],
        users.unfollow_base,
        users.unfollow_per_negative_attitude,
        pop.attitude.reshape(-1),
        following,
        stocks.following_by_firm,
        stocks.followers.reshape(-1),
        model.n_firms,
        pop.bounds,
        ledger.flows.reshape(len(FLOWS), -1),
        _LEAVE_ROWS,
    )
    start_following(model, ledger, touched.index[follows], leaves // model.n_firms)


def start_following(
    model: MarketModel, ledger: Ledger, joins: np.ndarray, left_users: np.ndarray
) -> None:
    """Distinct flat entries ``joins`` (not following) start following; the brands
    followed, and the reach of every brand's posts, change for them and for
    ``left_users`` (one per unfollow booked already)."""
    pop, stocks = model.population, model.stocks
    changed = kernels.join(
        joins,
        left_users,
        pop.following.reshape(-1),
        stocks.following_by_firm,
        stocks.followers.reshape(-1),
        pop.brands_followed,
        model.n_firms,
        pop.bounds,
        ledger.flows.reshape(len(FLOWS), -1),
        FLOWS.index("new_followers"),
    )
    changed = distinct(changed)
    model.organic_seen[changed] = model.organic_reach_of(changed)


def unfollows(model, touched, annoyed, followers) -> np.ndarray:
    """Flat entries of followers who unfollow today (:func:`unfollowing`).

    Annoyance comes from own posts only, so the annoyed entries are followers.
    """
    pop, users = model.population, model.spec.users
    kept = retention(model.spec.crm.retention_effect, model.crm_capability())
    annoyed_now = annoyed > 0
    key = touched.firm[annoyed_now] * pop.n_users + touched.user[annoyed_now]
    order = np.argsort(key)
    users_of_firm, bounds = followers
    return unfollowing(
        users_of_firm,
        bounds,
        pop.attitude.reshape(-1),
        pop.switching,
        model.switching_max,
        users.unfollow_base,
        kept,
        1.0,
        users.unfollow_per_negative_attitude,
        key[order],
        annoyed[annoyed_now][order],
        pop.n_users,
        model.rng,
    )


@numba.njit(cache=True)
def unfollowing(
    followers,
    firm_bounds,
    attitude,
    switching,
    switching_max,
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
    this probability: every follower u leaves at its base rate b_u = unfollow_base x
    kept[f] x switching[u] (at most 1), drawn by thinning (candidates at the rate
    B_f of the largest propensity ``switching_max``, through geometric gaps, each
    kept with probability b_u / B_f), and a follower above it (fatigued today or
    with a negative attitude) who stayed leaves besides with probability
    (P - b_u) / (1 - b_u). ``fatigued_key`` (firm x users + user, ascending) and
    ``fatigue`` give today's over-posting fatigue. Returns the flat entries that
    leave.
    """
    n_firms = firm_bounds.size - 1
    leaving = np.empty(16, np.int64)
    n = 0
    j = 0  # position in the fatigued entries
    for f in range(n_firms):
        top = _unfollow_probability(
            base, per_fatigue, 0.0, per_negative, 0.0, kept[f], switching_max
        )
        mine = followers[firm_bounds[f] : firm_bounds[f + 1]]
        next_base = first_success(rng, top)
        log_q = np.log1p(-top)
        for i in range(mine.size):
            u = mine[i]
            s = switching[u]
            b = _unfollow_probability(base, per_fatigue, 0.0, per_negative, 0.0, kept[f], s)
            leaves = False
            if i == next_base:
                leaves = b >= top or rng.random() * top < b
                next_base = next_success_at(rng, i, top, log_q)
            key = f * n_users + u
            while j < fatigued_key.size and fatigued_key[j] < key:
                j += 1
            tired = fatigue[j] if j < fatigued_key.size and fatigued_key[j] == key else 0.0
            a = np.float64(attitude[u * n_firms + f])
            if not leaves and b < 1.0 and (tired > 0.0 or a < 0.0):
                p = _unfollow_probability(base, per_fatigue, tired, per_negative, a, kept[f], s)
                leaves = rng.random() * (1.0 - b) < p - b
            if leaves:
                if n == leaving.size:
                    leaving = doubled(leaving)
                leaving[n] = u * n_firms + f
                n += 1
    return leaving[:n]
