"""Exposure: who sees what from which firm today (phase 2).

Channels, each drawing only its successes (:mod:`sim.model.sampling`,
:mod:`sim.model.kernels`), so the cost follows activity, not users x firms:

* **own posts** seen by followers: Binomial(posts, organic reach x attention x the
  share of posts that pass regulation), attention growing with SNS dependency;
* **ads**: each non-follower in a targeted market is reached with the paid share;
* **cross-promotion**: partners show the receiver's posts to their own followers
  (:mod:`sim.model.benefits`);
* **shares**: each tie who engaged with or bought from a firm yesterday shares its
  post with ``share_reach``;
* **referrals**: partners refer their customers.

Who heard which opinions from their ties yesterday (the listeners pass) also
drives social influence in the attitude phase; it is returned with the exposure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.model import kernels
from sim.model.awareness import MAX_PROBABILITY, become_aware
from sim.model.benefits import (
    cross_promotion_chance,
    filtered_share,
    pass_share,
    policy_support,
    policy_support_value,
    referral_probability,
)
from sim.model.entries import Heard, Touched, run_lengths, starts_of_runs, users_by_firm
from sim.model.ledger import FLOWS

if TYPE_CHECKING:
    from sim.model.ledger import Ledger
    from sim.model.model import MarketModel

EMPTY = np.empty(0, np.int64), np.empty(0, np.int64)
# The exposure channels in the order of their random draws (own posts first, referrals
# last) and the ledger flow each books its items in (-1: none).
CHANNELS = (
    "own",
    "ad_impressions",
    "cross_promotion_impressions",
    "share_impressions",
    "referrals",
)
_CHANNEL_ROWS = np.array(
    [FLOWS.index(name) if name.endswith("_impressions") else -1 for name in CHANNELS], np.int64
)


def attention[T](attention_base: float, dependency: T) -> T:
    """Share of a followed firm's reach a user attends to: grows with SNS dependency."""
    return (attention_base + dependency) / (attention_base + 1.0)


def share_chance[T](share_reach: float, shares_per_entertaining: float, entertaining: T) -> T:
    """P(a tie sees a post an engager passes on): more for entertaining content."""
    return np.minimum(MAX_PROBABILITY, share_reach * (1.0 + shares_per_entertaining * entertaining))


def share_chances(model: MarketModel) -> np.ndarray:
    """(F, M) :func:`share_chance` of each firm's posts in each market."""
    return share_chance(
        model.spec.network.share_reach,
        model.spec.users.shares_per_entertaining,
        model.strategy.entertaining_share,
    )


def mixed_share_probability[T](share_reach: T, ties: float, expressing_share: T) -> T:
    """Fully mixed: P(seeing a share) with the market's expressers spread over a user's ties."""
    return -np.expm1(-share_reach * ties * expressing_share)


@dataclass
class Exposure:
    """What phase 2 hands to the later phases."""

    touched: Touched
    followers: tuple[np.ndarray, np.ndarray]  # each firm's followers (users_by_firm)
    heard: Heard | None  # who heard which opinions (social network only)
    referral_source: dict[int, int]  # referred entry -> the referring partner


@dataclass
class Scratch:
    """(N x F) counters for gathering today's exposures; zero between uses."""

    seen: np.ndarray
    own: np.ndarray

    @classmethod
    def of_size(cls, entries: int) -> Scratch:
        return cls(np.zeros(entries, np.int32), np.zeros(entries, np.int32))


def impression_value(model: MarketModel) -> np.ndarray:
    """(M,) value of one simulated impression: people per user x the market's CPM / 1000."""
    return model.people_per_user * np.array([m.ad_cpm for m in model.markets]) / 1000.0


def content_filter(
    model: MarketModel, ties: list[tuple[int, int, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Share of each firm's posts that pass platform regulation, per (firm, market).

    Regulation filters unlocalised foreign posts; policy support from partners at
    home in the market (Luo 2024) avoids part of it where institutions matter.
    Returns the pass shares and the filtered shares.
    """
    regulation = np.array([m.content_regulation for m in model.markets])
    filtered = filtered_share(model.foreign, regulation[None, :], model.strategy.localisation)
    avoided = np.zeros((model.n_firms, model.n_markets))
    if ties:
        institutional = np.array([m.institutional_weight for m in model.markets])
        givers, receivers, weights = _tie_arrays(ties)
        home = np.asarray(model.home_market)[givers]
        # Summed tie by tie, in the ties' order.
        np.add.at(
            avoided,
            (receivers, home),
            policy_support(model.spec.guanxi.policy_support, weights, institutional[home]),
        )
        np.minimum(avoided, 1.0, out=avoided)
    return pass_share(filtered, avoided), filtered


def book_policy_support(
    model: MarketModel,
    ledger: Ledger,
    ties: list[tuple[int, int, float]],
    filtered: np.ndarray,
    posts: np.ndarray,
) -> None:
    """Value of policy support: filtered posts avoided x the receiver's cost of a post."""
    institutional = np.array([m.institutional_weight for m in model.markets])
    givers, receivers, weights = _tie_arrays(ties)
    home = np.asarray(model.home_market)[givers]
    cost_per_post = np.array([model.firm_by_index[r].cost_per_post for r in receivers.tolist()])
    # Booked tie by tie, in the ties' order.
    np.add.at(
        ledger.benefit,
        (givers, receivers),
        policy_support_value(
            policy_support(model.spec.guanxi.policy_support, weights, institutional[home]),
            filtered[receivers, home],
            posts[receivers, home],
            cost_per_post,
        ),
    )


def _tie_arrays(ties: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ties as (givers, receivers, weights) arrays."""
    givers, receivers, weights = zip(*ties, strict=True) if ties else ((), (), ())
    return np.array(givers, np.int64), np.array(receivers, np.int64), np.array(weights, np.float64)


def expose(model: MarketModel, ledger: Ledger, posts: np.ndarray, ad_reach: np.ndarray) -> Exposure:
    """Who sees what from which firm today; the entries touched, in ascending order.

    Each channel yields (flat entry index, items) pairs with distinct entries; the
    items are summed per entry in a scratch counter.
    """
    pop, n_firms = model.population, model.n_firms
    ties = model.guanxi.directed_ties() if model.spec.guanxi.enabled else []
    passed, filtered = content_filter(model, ties)
    if ties:
        book_policy_support(model, ledger, ties, filtered, posts)
    # The ties as (givers, receivers, weights) arrays, for the compiled passes.
    tie_columns = tuple(np.array(column) for column in zip(*ties, strict=True))
    # Each firm's followers (users, ascending). Following changes only in phase 6.
    followers = users_by_firm(model.stocks.following_by_firm)

    # In the order of the random draws: own posts, ads, cross-promotion, the listeners
    # pass (who heard which opinions) with the shares it draws, referrals.
    channels: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "own": _own_posts(model, followers, posts, passed),
        "ad_impressions": _ads(model, ad_reach),
        "cross_promotion_impressions": _cross_promotion(
            model, ledger, tie_columns, followers, posts, passed
        ),
    }
    heard = None
    if model.expressed.count and model.word_of_mouth is not None:
        heard = model.word_of_mouth.listen(
            model.population, model.expressed, share_chances(model), model.rng
        )
    channels["share_impressions"] = _shares(model, heard)
    referral_index, referral_source = _referrals(model, tie_columns)
    channels["referrals"] = (referral_index, np.ones(referral_index.size, np.int64))

    # Sum the channels' items per entry, list the entries touched and book the
    # channels' impressions, the reach and the referrals (two compiled passes; the
    # entries sorted between them by numpy).
    ledger["posts"][:] = posts
    scratch, flows = model.scratch, ledger.flows.reshape(len(FLOWS), -1)
    first_seen = kernels.add_exposures(
        scratch.seen,
        scratch.own,
        np.concatenate([index for index, _ in channels.values()]),
        np.concatenate([items for _, items in channels.values()]),
        np.cumsum([0] + [index.size for index, _ in channels.values()]),
        _CHANNEL_ROWS,
        n_firms,
        pop.bounds,
        flows,
    )
    if first_seen.size * 16 >= scratch.seen.size:
        unique = np.flatnonzero(scratch.seen != 0)
    else:
        unique = np.sort(first_seen)
    user, firm, market, cell, seen, own, referred = kernels.touched_entries(
        unique,
        scratch.seen,
        scratch.own,
        referral_index,
        n_firms,
        pop.bounds,
        flows,
        FLOWS.index("impressions"),
        FLOWS.index("reach"),
        FLOWS.index("referrals"),
    )
    touched = Touched(
        index=unique,
        user=user,
        firm=firm,
        market=market,
        seen=seen,
        own_posts=own,
        referred=referred,
        cell=cell,
    )
    become_aware(model, touched)
    source = dict(zip(referral_index.tolist(), referral_source.tolist(), strict=True))
    return Exposure(touched, followers, heard, source)


def _own_posts(model, followers, posts, passed) -> tuple[np.ndarray, np.ndarray]:
    """Own posts seen by followers: Binomial(posts, organic reach x attention x pass).

    Drawn per (firm, market) as the successes among posts x followers trials
    (:func:`sim.model.kernels.own_posts_seen`); returns the followers who see at
    least one post and how many they see.
    """
    users, bounds = followers
    return kernels.own_posts_seen(
        users,
        bounds,
        model.population.bounds,
        posts,
        passed,
        model.organic_seen,
        model.organic_seen_max,
        model.n_firms,
        model.rng,
    )


def _ads(model, ad_reach) -> tuple[np.ndarray, np.ndarray]:
    """Paid reach: each non-follower in a targeted market is reached with the ad share."""
    index = kernels.ad_reach(
        ad_reach, model.population.bounds, model.stocks.following_by_firm, model.rng
    )
    return index, np.ones(index.size, np.int64)


def _cross_promotion(model, ledger, tie_columns, followers, posts, passed):
    """Partners show our posts to their followers (guanxi favour).

    For a tie giver -> receiver with weight = strength x giver's reciprocity, each
    follower of the giver who does not follow the receiver sees one of the
    receiver's posts that day with probability min(1, chance x organic reach x
    attention), chance from :func:`~sim.model.benefits.cross_promotion_chance`. The
    impressions are booked as the receiver's benefit at the market's ad price.
    Returns distinct entries with the number of partners that showed the post.
    """
    if not tie_columns:
        return EMPTY
    givers, receivers, weights = tie_columns
    chances = cross_promotion_chance(
        model.spec.guanxi.cross_promotion, weights[:, None], passed[receivers], posts[receivers]
    )
    users, bounds = followers
    found = kernels.cross_promoted(
        givers,
        receivers,
        chances,
        users,
        bounds,
        model.population.bounds,
        model.stocks.following_by_firm,
        model.organic_seen,
        model.organic_seen_max,
        impression_value(model),
        ledger.benefit,
        model.n_firms,
        model.rng,
    )
    if found.size == 0:
        return EMPTY
    return run_lengths(np.sort(found))


def _shares(model, heard: Heard | None) -> tuple[np.ndarray, np.ndarray]:
    """Items seen through ties' shares: P = 1 - (1 - share_reach)^(expressing ties).

    On a network each expressing tie shares independently with ``share_reach``
    (drawn in the listeners pass); a user who sees at least one share sees an item.
    Fully mixed: :func:`mixed_share_probability`.
    """
    pop, net, n_firms = model.population, model.spec.network, model.n_firms
    if model.expressed.count == 0 or net.share_reach <= 0:
        return EMPTY
    chances = share_chances(model)
    if heard is not None:
        users = heard.shared // n_firms
        firms = heard.shared - users * n_firms
    else:
        expressed = model.expressed.dense(pop.n_users, n_firms)
        users_list, firms_list = [], []
        for m in range(model.n_markets):
            block = pop.block(m)
            size = block.stop - block.start
            share = expressed[block].sum(axis=0) / max(size, 1)
            prob = mixed_share_probability(chances[:, m], net.strong_ties + net.weak_ties, share)
            u, f = np.nonzero(model.rng.random((size, n_firms)) < prob[None, :])
            users_list.append(u + block.start)
            firms_list.append(f)
        users, firms = np.concatenate(users_list), np.concatenate(firms_list)
    users, firms = users.astype(np.int64), firms.astype(np.int64)
    active = model.active_nf[users, firms]
    index = users[active] * n_firms + firms[active]
    return index, np.ones(index.size, np.int64)


def _referrals(model, tie_columns) -> tuple[np.ndarray, np.ndarray]:
    """Partners refer their customers to us (:func:`~sim.model.benefits.referral_probability`).

    Only users in a market we target who are not yet our customers count. Returns
    the referred entries (ascending) and the referring partner of each (the first
    tie listed, when several partners refer the same user on one day).
    """
    rate = model.spec.guanxi.referral_rate
    if not tie_columns or rate <= 0:
        return EMPTY
    givers, receivers, weights = tie_columns
    customers, bounds = users_by_firm(model.stocks.customer_by_firm)
    index, source = kernels.referred(
        givers,
        receivers,
        referral_probability(rate, weights),
        customers,
        bounds,
        model.active_nf,
        model.stocks.customer_by_firm,
        model.rng,
    )
    if index.size == 0:
        return EMPTY
    order = np.argsort(index, kind="stable")
    index, source = index[order], source[order]
    first = starts_of_runs(index)
    return index[first], source[first]
