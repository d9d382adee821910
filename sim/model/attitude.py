"""Attitude (phase 5): what a user thinks of a firm, -1 to 1.

For each (user, firm) entry touched today, in this order:

1. content: each item consumed moves attitude toward the content's valence (its
   fit with the user's motives, centred on ``neutral_fit``) at the learning rate;
2. answers: an answered comment raises attitude by ``response_effect``, an ignored
   one lowers it by ``ignored_effect``;
3. fatigue: each own post seen above ``fatigue_threshold`` lowers it by
   ``fatigue_per_post``;

then every aware user moves toward the mean opinion its ties expressed yesterday,
weighted by social_influence x the market's collectivism (relational users weigh
others' opinions more), and every attitude decays toward 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from sim.model.elementwise import clip, positive_part
from sim.model.entries import Heard, Touched
from sim.model.kernels import market_of

if TYPE_CHECKING:
    from sim.model.model import MarketModel
    from sim.scenario import UsersSection


def toward[T](attitude: T, opinion: T, weight: T) -> T:
    """Attitude moved by ``weight`` of the way toward ``opinion``."""
    return attitude + weight * (opinion - attitude)


def valence[T](fit: T, neutral_fit: float) -> T:
    """Valence of content (-1..1): its fit, centred on the neutral fit and rescaled."""
    return clip((fit - neutral_fit) / (1.0 - neutral_fit), -1.0, 1.0)


def excess_posts[T](own_posts: T, threshold: float) -> T:
    """Own posts seen today above the fatigue threshold."""
    return positive_part(own_posts - threshold)


def after_the_day[T](
    attitude: T,
    fit: T,
    consumed: T,
    answered: T,
    ignored: T,
    excess: T,
    users: UsersSection,
) -> T:
    """Attitude after today's content, answers and over-posting fatigue, clipped to -1..1."""
    learned = 1.0 - (1.0 - users.attitude_learning_rate) ** consumed
    attitude = toward(attitude, valence(fit, users.neutral_fit), learned)
    attitude = attitude + (users.response_effect * answered - users.ignored_effect * ignored)
    attitude = attitude - users.fatigue_per_post * excess
    return clip(attitude, -1.0, 1.0)


def kept_after_decay(attitude_decay: float) -> float:
    """Share of an attitude kept each day: attitudes decay toward 0 without contact."""
    return 1.0 - attitude_decay


def influence_weight[T](social_influence: float, collectivism: T) -> T:
    """Weight of the ties' mean opinion: social influence x the market's collectivism."""
    return social_influence * collectivism


def update_attitudes(
    model: MarketModel,
    touched: Touched,
    fit: np.ndarray,
    consumed: np.ndarray,
    answered: np.ndarray,
    ignored: np.ndarray,
    heard: Heard | None,
) -> np.ndarray:
    """Today's attitude changes; returns the excess own posts seen per touched entry."""
    pop, users = model.population, model.spec.users
    attitude = pop.attitude.reshape(-1)[touched.index].astype(np.float64)
    excess = excess_posts(touched.own_posts, users.fatigue_threshold)
    updated = after_the_day(attitude, fit, consumed, answered, ignored, excess, users)
    model.stocks.set_attitude(pop, touched.index, updated)
    social_influence(model, heard)
    model.stocks.scale_attitudes(pop, np.float32(kept_after_decay(users.attitude_decay)))
    return excess


def social_influence(model: MarketModel, heard: Heard | None) -> None:
    """Move aware users toward the mean opinion their ties expressed yesterday."""
    pop, stocks = model.population, model.stocks
    weight = influence_weight(model.spec.users.social_influence, model.collectivism)
    if model.word_of_mouth is not None:
        if heard is None:
            return
        pull_toward_heard(
            pop.attitude.reshape(-1),
            pop.aware.reshape(-1),
            heard.index,
            heard.speakers,
            heard.opinion_sum,
            pop.bounds,
            weight,
            model.n_firms,
            stocks.attitude_sum.reshape(-1),
            stocks.attitude_squares.reshape(-1),
        )
        return
    if model.expressed.count == 0:
        return
    # Fully mixed: everyone hears the market's expressed opinions.
    expressed = model.expressed.dense(pop.n_users, model.n_firms)
    for m in range(model.n_markets):
        block = pop.block(m)
        speakers = expressed[block]
        counts = speakers.sum(axis=0)
        has = counts > 0
        if not has.any():
            continue
        opinion = (pop.attitude[block] * speakers).sum(axis=0)[has] / counts[has]
        target = pop.attitude[block][:, has]
        listeners = pop.aware[block][:, has]
        sub = pop.attitude[block]
        sub[:, has] = np.where(listeners, toward(target, opinion[None, :], weight[m]), target)
        pop.attitude[block] = sub
        # A dense update (fully mixed markets only): count this market's sums again.
        stocks.recount_attitudes(sub, m)


_toward = numba.njit(cache=True, inline="always")(toward)


@numba.njit(cache=True)
def pull_toward_heard(
    attitude,
    aware,
    index,
    heard_count,
    opinion_sum,
    market_bounds,
    weight_by_market,
    n_firms,
    sums,
    squares,
):
    """Move each aware listener toward the mean opinion heard (:func:`toward`), by its
    market's weight; unaware listeners keep their attitude of 0.

    Keeps the running sums of attitudes and of their squares per (firm, market)
    cell exact to float64, like :func:`sim.model.kernels.set_attitudes`.
    """
    n_markets = market_bounds.size - 1
    for i in range(index.size):
        e = index[i]
        if not aware[e]:
            continue
        u = e // n_firms
        m = market_of(u, market_bounds)
        old = np.float64(attitude[e])
        new = np.float32(_toward(old, opinion_sum[i] / heard_count[i], weight_by_market[m]))
        attitude[e] = new
        change = np.float64(new) - old
        cell = (e - u * n_firms) * n_markets + m
        sums[cell] += change
        squares[cell] += change * (change + 2.0 * old)
