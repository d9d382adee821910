"""Compiled per-entry loops of the model's daily phases (numba).

At a million users a day touches millions of (user, firm) entries, and the numpy
formulation of some phases needs a dozen passes over arrays of that size (gathers,
sorts, bincounts, running sums), or, in small markets, a Python loop over firms and
markets whose numpy calls cost more than their work. The loops here make one pass
each, in compiled code (numba, ``cache=True``: compiled once per machine and kept
in ``__pycache__``).

Random draws come from the model's own ``numpy.random.Generator``, passed in: numba
draws from its bit generator, so a run stays reproducible by seed and the kernels
share one random stream with the numpy phases. Success-only sampling is the same
as in :mod:`sim.model.sampling`: for Bernoulli trials at rate p the gap to the next
success is geometric(p), so a pass costs what it finds, not the trials it skips;
trials with their own probabilities p_i <= bound are drawn at the bound and kept
with probability p_i / bound (thinning).

Attitudes are float32 in the model; each write keeps the running sums of
attitudes and of their squares per (firm, market) cell exact to float64, as
:meth:`sim.model.stocks.Stocks.set_attitude` documents.
"""

from __future__ import annotations

import sys

import numba
import numpy as np

_NEVER = np.iinfo(np.int64).max
# Entries (users x firms) per block of listeners in `listen`: a block's tallies
# (17 bytes an entry, 1.1 MB) fit in a core's L2 cache.
_BLOCK_CELLS = 1 << 16


def not_loaded() -> list[str]:
    """The kernels this process has not compiled or loaded yet (each does so on first call):
    those here and the mechanism modules' own (attitude, following)."""
    from sim.model import attitude, following

    return [
        f"{module.__name__}.{name}"
        for module in (sys.modules[__name__], attitude, following)
        for name, value in vars(module).items()
        if isinstance(value, numba.core.registry.CPUDispatcher)
        and not name.startswith("_")
        and not value.signatures
    ]


@numba.njit(cache=True)
def doubled(values: np.ndarray) -> np.ndarray:
    """A copy of ``values`` with twice the room (for appending past its end)."""
    bigger = np.empty(2 * values.size, values.dtype)
    bigger[: values.size] = values
    return bigger


@numba.njit(cache=True, inline="always")
def market_of(user: int, market_bounds: np.ndarray) -> int:
    """The market of a user: users are sorted by market (a scan of a few bounds is
    cheaper than reading a per-user array at a random place)."""
    m = 0
    while user >= market_bounds[m + 1]:
        m += 1
    return m


@numba.njit(cache=True, inline="always")
def first_success(rng, p: float) -> int:
    """Position (0-based) of the first success of Bernoulli(p) trials; never if p <= 0."""
    if p <= 0.0:
        return _NEVER
    if p >= 1.0:
        return 0
    return rng.geometric(p) - 1


@numba.njit(cache=True, inline="always")
def next_success(rng, position: int, p: float) -> int:
    """Position of the next success after a success at ``position``."""
    if p >= 1.0:
        return position + 1
    return position + rng.geometric(p)


@numba.njit(cache=True, inline="always")
def next_success_at(rng, position: int, p: float, log_q: float) -> int:
    """:func:`next_success` with ``log_q`` = log1p(-p) given (a pass draws many gaps
    at one rate): the same draw as ``rng.geometric(p)``, whose algorithms these are
    (a search from p = 1/3 up, else inversion of an exponential), without computing
    the logarithm again for each gap."""
    if p >= 1.0:
        return position + 1
    if p >= 0.333333333333333333333333:
        return position + rng.geometric(p)
    return position + np.int64(np.ceil(-rng.standard_exponential() / log_q))


@numba.njit(cache=True)
def binomial(rng, n, p):
    """Binomial(n[i], p[i]) per entry (int64).

    A single trial (the common case: one item seen, one consumed) is one uniform;
    several use the generator's binomial sampler.
    """
    out = np.zeros(n.size, np.int64)
    for i in range(n.size):
        trials = n[i]
        if trials == 1:
            out[i] = rng.random() < p[i]
        elif trials > 1:
            out[i] = rng.binomial(trials, min(max(p[i], 0.0), 1.0))
    return out


@numba.njit(cache=True)
def listen(
    speaking, attitude, n_firms, tie_bounds, tie_users, share_reach, market_bounds, rng, scratch
):
    """Who heard which firm's opinions from their ties, and which ties shared its post.

    ``speaking`` holds the flat entries (user x firms + firm, ascending) of the users
    who expressed an opinion of a firm yesterday; every tie of a speaker (CSR
    ``tie_bounds``/``tie_users``) hears it, and each (speaker, firm, tie) triple also
    shares the post with probability ``share_reach[firm x markets + the speaker's
    market]`` (drawn at the highest and thinned). Returns, per (listener, firm)
    entry heard, ascending: the flat entry, the number of speakers and the sum of
    their attitudes; the distinct entries, ascending, that saw at least one share;
    and ``scratch``, the working arrays, grown if they were too small. The outputs
    are views of ``scratch``: pass it back the next day, when they are no longer
    needed (fresh arrays of this size would cost their page faults every day).

    The triples go first into buckets of listeners (a block of consecutive users
    whose tallies, block x firms cells, fit in a core's cache), then each bucket is
    tallied and read out in entry order: no pass touches a random place of a
    users-long array, and the attitude pass that follows walks memory forwards.
    """
    n_users = tie_bounds.size - 1
    shift = 0  # a block holds 2**shift users, at most _BLOCK_CELLS entries
    while (n_firms << (shift + 1)) <= _BLOCK_CELLS:
        shift += 1
    n_blocks = (n_users >> shift) + 1
    # Triples per block of listeners, then their places block by block.
    start = np.zeros(n_blocks + 1, np.int64)
    for k in range(speaking.size):
        s = speaking[k] // n_firms
        for j in range(tie_bounds[s], tie_bounds[s + 1]):
            start[(tie_users[j] >> shift) + 1] += 1
    for b in range(n_blocks):
        start[b + 1] += start[b]
    n_triples = start[n_blocks]
    cell, said, index, heard_count, opinion_sum, shared, count, total, shares = scratch
    if cell.size < n_triples:
        cell = np.empty(n_triples + n_triples // 4, np.int32)
        said = np.empty(cell.size, np.float32)
    n_out = min(n_triples, n_users * n_firms)
    if index.size < n_out:
        index = np.empty(min(n_out + n_out // 4, n_users * n_firms), np.int64)
        heard_count = np.empty(index.size, np.int64)
        opinion_sum = np.empty(index.size, np.float64)
    # Each triple as its cell in the block (listener's place x firms + firm), twice,
    # plus one if it shares the post; and the speaker's attitude.
    fill = start[:n_blocks].copy()
    n_shares = 0
    triple = 0
    n_markets = market_bounds.size - 1
    bound = 0.0
    for x in range(share_reach.size):
        bound = max(bound, share_reach[x])
    next_share = first_success(rng, bound)
    log_q = np.log1p(-bound)
    for k in range(speaking.size):
        e = speaking[k]
        s = e // n_firms
        f = e - s * n_firms
        reach = share_reach[f * n_markets + market_of(s, market_bounds)]
        opinion = attitude[e]
        for j in range(tie_bounds[s], tie_bounds[s + 1]):
            v = tie_users[j]
            b = v >> shift
            c = 2 * ((v - (b << shift)) * n_firms + f)
            if triple == next_share:
                next_share = next_success_at(rng, triple, bound, log_q)
                if reach >= bound or rng.random() * bound < reach:
                    c += 1
                    n_shares += 1
            triple += 1
            p = fill[b]
            cell[p] = c
            said[p] = opinion
            fill[b] = p + 1
    if shared.size < n_shares:
        shared = np.empty(n_shares + n_shares // 4, np.int64)
    block_cells = n_firms << shift
    if count.size != block_cells:  # a block's tallies, zero between calls
        count = np.zeros(block_cells, np.int64)
        total = np.zeros(block_cells, np.float64)
        shares = np.zeros(block_cells, np.bool_)
    n_heard = n_shared = 0
    for b in range(n_blocks):
        if start[b] == start[b + 1]:
            continue
        for p in range(start[b], start[b + 1]):
            x = cell[p] >> 1
            count[x] += 1
            total[x] += said[p]
            if cell[p] & 1:
                shares[x] = True
        base = (b << shift) * n_firms
        # Read the tallies out in cell order: by a scan of the block, or, for a block
        # with few triples, by its triples' cells sorted (the same entries in the same
        # order; a cell read out is zero again, so a repeated cell is passed over).
        limit = min(block_cells, n_users * n_firms - base)
        n_block = start[b + 1] - start[b]
        sparse = n_block * 32 < limit
        if sparse:
            cells_here = np.empty(n_block, np.int64)
            for j in range(n_block):
                cells_here[j] = cell[start[b] + j] >> 1
            cells_here.sort()
        for j in range(n_block if sparse else limit):
            x = cells_here[j] if sparse else j
            if count[x] == 0:
                continue
            index[n_heard] = base + x
            heard_count[n_heard] = count[x]
            opinion_sum[n_heard] = total[x]
            n_heard += 1
            count[x] = 0
            total[x] = 0.0
            if shares[x]:
                shared[n_shared] = base + x
                n_shared += 1
                shares[x] = False
    return (
        index[:n_heard],
        heard_count[:n_heard],
        opinion_sum[:n_heard],
        shared[:n_shared],
        (cell, said, index, heard_count, opinion_sum, shared, count, total, shares),
    )


def listen_scratch() -> tuple[np.ndarray, ...]:
    """Empty working arrays for :func:`listen` (it grows them as needed)."""
    return tuple(
        np.empty(0, dtype)
        for dtype in (
            np.int32,
            np.float32,
            np.int64,
            np.int64,
            np.float64,
            np.int64,
            np.int64,
            np.float64,
            np.bool_,
        )
    )


@numba.njit(cache=True)
def set_attitudes(attitude, index, values, market_bounds, n_firms, sums, squares):
    """Write ``values`` to the distinct flat entries ``index``; keep the cell sums.

    ``sums`` and ``squares`` are the flat (firm x market) running sums of attitudes
    and of their squares; market m's users are [market_bounds[m], market_bounds[m + 1]).
    """
    n_markets = market_bounds.size - 1
    for i in range(index.size):
        e = index[i]
        old = np.float64(attitude[e])
        new = np.float32(values[i])
        attitude[e] = new
        change = np.float64(new) - old
        u = e // n_firms
        cell = (e - u * n_firms) * n_markets + market_of(u, market_bounds)
        sums[cell] += change
        squares[cell] += change * (change + 2.0 * old)


@numba.njit(cache=True)
def own_posts_seen(
    followers, firm_bounds, market_bounds, posts, passed, organic_seen, seen_max, n_firms, rng
):
    """Own posts seen by followers: Binomial(posts, organic_seen[user] x passed) each.

    ``followers[firm_bounds[f]:firm_bounds[f + 1]]`` are firm f's followers,
    ascending, so that market m's are those in [market_bounds[m],
    market_bounds[m + 1]). Per (firm, market) the posts x followers trials (trial t:
    follower t // posts) are drawn at the market's highest probability and thinned.
    Returns the flat entries that see at least one post and how many they see.
    """
    index = np.empty(16, np.int64)
    items = np.empty(16, np.int64)
    n = 0
    n_markets = market_bounds.size - 1
    for f in range(n_firms):
        mine = followers[firm_bounds[f] : firm_bounds[f + 1]]
        cuts = np.searchsorted(mine, market_bounds)
        for m in range(n_markets):
            users = mine[cuts[m] : cuts[m + 1]]
            k, p = posts[f, m], passed[f, m]
            bound = min(1.0, seen_max[m] * p)
            if k == 0 or users.size == 0 or bound <= 0.0:
                continue
            trials = k * users.size
            t = first_success(rng, bound)
            log_q = np.log1p(-bound)
            last = -1
            while t < trials:
                u = users[t // k]
                if rng.random() * bound < organic_seen[u] * p:
                    if u == last:
                        items[n - 1] += 1
                    else:
                        if n == index.size:
                            index = doubled(index)
                        if n == items.size:
                            items = doubled(items)
                        index[n] = u * n_firms + f
                        items[n] = 1
                        n += 1
                        last = u
                t = next_success_at(rng, t, bound, log_q)
    return index[:n], items[:n]


@numba.njit(cache=True)
def ad_reach(reach, market_bounds, following_by_firm, rng):
    """Non-followers reached by ads: in market m, each user with ``reach[f, m]``.

    Returns the flat entries (user x firms + firm) reached.
    """
    n_firms, n_markets = reach.shape
    found = np.empty(16, np.int64)
    n = 0
    for f in range(n_firms):
        for m in range(n_markets):
            p = reach[f, m]
            start, size = market_bounds[m], market_bounds[m + 1] - market_bounds[m]
            position = first_success(rng, p)
            log_q = np.log1p(-p)
            while position < size:
                u = start + position
                if not following_by_firm[f, u]:
                    if n == found.size:
                        found = doubled(found)
                    found[n] = u * n_firms + f
                    n += 1
                position = next_success_at(rng, position, p, log_q)
    return found[:n]


@numba.njit(cache=True)
def cross_promoted(
    givers,
    receivers,
    chances,
    followers,
    firm_bounds,
    market_bounds,
    following_by_firm,
    organic_seen,
    seen_max,
    price,
    benefit,
    n_firms,
    rng,
):
    """Partners show the receiver's post to their own followers (one row per tie).

    ``chances[t, m]`` is tie t's cross_promotion x weight x pass x posts in market
    m; a follower of the giver who does not follow the receiver sees the post with
    probability min(1, chance x organic_seen[user]). Books the impressions at the
    market's ``price`` in ``benefit[giver, receiver]``. Returns the flat entries
    reached, one per (tie, user): an entry appears once per partner that reached it.
    """
    found = np.empty(16, np.int64)
    n = 0
    n_markets = market_bounds.size - 1
    for t in range(givers.size):
        g, r = givers[t], receivers[t]
        mine = followers[firm_bounds[g] : firm_bounds[g + 1]]
        cuts = np.searchsorted(mine, market_bounds)
        for m in range(n_markets):
            users = mine[cuts[m] : cuts[m + 1]]
            chance = chances[t, m]
            if users.size == 0 or chance <= 0.0:
                continue
            bound = min(1.0, chance * seen_max[m])
            picked = 0
            position = first_success(rng, bound)
            log_q = np.log1p(-bound)
            while position < users.size:
                u = users[position]
                seen = rng.random() * bound < min(1.0, chance * organic_seen[u])
                if seen and not following_by_firm[r, u]:
                    if n == found.size:
                        found = doubled(found)
                    found[n] = u * n_firms + r
                    n += 1
                    picked += 1
                position = next_success_at(rng, position, bound, log_q)
            benefit[g, r] += price[m] * picked
    return found[:n]


@numba.njit(cache=True)
def referred(givers, receivers, rates, customers, firm_bounds, active, customer_by_firm, rng):
    """Partners refer their customers: each with probability ``rates[t]`` per tie t.

    ``customers[firm_bounds[f]:firm_bounds[f + 1]]`` are firm f's customers. Only
    users in a market the receiver targets (``active``, users x firms) who are not
    yet its customers count. Returns the flat entries (one per tie and user, in tie
    order) and the referring partner of each.
    """
    n_firms = active.shape[1]
    index = np.empty(16, np.int64)
    source = np.empty(16, np.int64)
    n = 0
    for t in range(givers.size):
        g, r = givers[t], receivers[t]
        mine = customers[firm_bounds[g] : firm_bounds[g + 1]]
        position = first_success(rng, rates[t])
        log_q = np.log1p(-rates[t])
        while position < mine.size:
            u = mine[position]
            if active[u, r] and not customer_by_firm[r, u]:
                if n == index.size:
                    index = doubled(index)
                if n == source.size:
                    source = doubled(source)
                index[n] = u * n_firms + r
                source[n] = g
                n += 1
            position = next_success_at(rng, position, rates[t], log_q)
    return index[:n], source[:n]


@numba.njit(cache=True)
def add_exposures(
    seen_scratch,
    own_scratch,
    index,
    items,
    channel_bounds,
    flow_rows,
    n_firms,
    market_bounds,
    flows,
):
    """Sum today's exposures per entry in the scratch counters, in one pass.

    ``index`` and ``items`` hold every channel's (flat entry, items) pairs one channel
    after the other (channel c is ``channel_bounds[c]:channel_bounds[c + 1]``; entries
    are distinct within a channel; channel 0 is the own posts, also counted in
    ``own_scratch``). Each channel's items are added to its flow row ``flow_rows[c]``
    (when >= 0) of ``flows`` (flows x cells, cell = firm x markets + market). Returns
    the distinct entries, in the order first seen (:func:`touched_entries` takes them
    sorted).
    """
    n_markets = market_bounds.size - 1
    distinct = np.empty(index.size, np.int64)
    n = 0
    for c in range(channel_bounds.size - 1):
        row = flow_rows[c]
        for i in range(channel_bounds[c], channel_bounds[c + 1]):
            e = index[i]
            if seen_scratch[e] == 0:
                distinct[n] = e
                n += 1
            seen_scratch[e] += items[i]
            if c == 0:
                own_scratch[e] = items[i]
            if row >= 0:
                u = e // n_firms
                flows[row, (e - u * n_firms) * n_markets + market_of(u, market_bounds)] += items[i]
    return distinct[:n]


@numba.njit(cache=True)
def touched_entries(
    entries,
    seen_scratch,
    own_scratch,
    referrals,
    n_firms,
    market_bounds,
    flows,
    impressions_row,
    reach_row,
    referrals_row,
):
    """The touched entries (``entries``, distinct, ascending) with their user, firm,
    market, cell, items seen and own posts seen (read from the scratch counters, which
    are zero again after) and whether ``referrals`` (ascending) holds them; books the
    impressions, the reach and the referrals per cell."""
    n_markets = market_bounds.size - 1
    n = entries.size
    user = np.empty(n, np.int64)
    firm = np.empty(n, np.int64)
    market = np.empty(n, np.int64)
    cell = np.empty(n, np.int64)
    seen = np.empty(n, np.int64)
    own = np.empty(n, np.int64)
    referred = np.zeros(n, np.bool_)
    for i in range(n):
        e = entries[i]
        u = e // n_firms
        f = e - u * n_firms
        m = market_of(u, market_bounds)
        user[i], firm[i], market[i] = u, f, m
        c = f * n_markets + m
        cell[i] = c
        seen[i] = seen_scratch[e]
        own[i] = own_scratch[e]
        seen_scratch[e] = 0
        own_scratch[e] = 0
        flows[impressions_row, c] += seen[i]
        flows[reach_row, c] += 1.0
    k = 0
    for j in range(referrals.size):
        while entries[k] < referrals[j]:
            k += 1
        referred[k] = True
        flows[referrals_row, cell[k]] += 1.0
    return user, firm, market, cell, seen, own, referred


@numba.njit(cache=True, inline="always")
def first_above(ascending: np.ndarray, start: int, value: int) -> int:
    """The first position from ``start`` on of a non-decreasing array that holds more
    than ``value`` (there is one): what a scan forwards from ``start`` finds, by a
    galloping search (steps doubling from ``start``, then halving), so that a pass
    over sorted values costs the log of each gap rather than the gap."""
    if ascending[start] > value:
        return start
    # ascending[low] <= value; find high with ascending[high] > value.
    low = start
    step = 1
    high = start + 1
    last = ascending.size - 1
    while high < last and ascending[high] <= value:
        low = high
        step *= 2
        high = start + step
    if high > last:
        high = last
    # ascending[low] <= value < ascending[high]: halve.
    while high - low > 1:
        middle = (low + high) // 2
        if ascending[middle] <= value:
            low = middle
        else:
            high = middle
    return high


@numba.njit(cache=True)
def told_by_ties(
    telling,
    uniforms,
    bound,
    strong_wom,
    weak_wom,
    running,
    aware_entries,
    tie_degree,
    strong_degree,
    strong_indptr,
    strong_indices,
    weak_indptr,
    weak_indices,
    active,
    aware,
    n_firms,
):
    """Word of mouth's tellings (ascending positions over the aware entries' running
    tie totals ``running``) kept with ``uniforms`` x bound < b_s or b_w, as the flat
    entries of the unaware, targeted listeners told, once per telling
    (:meth:`sim.model.awareness.WordOfMouth.tellings`)."""
    told = np.empty(telling.size, np.int64)
    n = 0
    position = 0
    for i in range(telling.size):
        t = telling[i]
        position = first_above(running, position, t)
        entry = aware_entries[position]
        speaker = entry // n_firms
        slot = t - (running[position] - tie_degree[speaker])
        strong = slot < strong_degree[speaker]
        if not uniforms[i] * bound < (strong_wom if strong else weak_wom):
            continue
        if strong:
            listener = strong_indices[strong_indptr[speaker] + slot]
        else:
            listener = weak_indices[weak_indptr[speaker] + slot - strong_degree[speaker]]
        e = listener * n_firms + (entry - speaker * n_firms)
        if active[e] and not aware[e]:
            told[n] = e
            n += 1
    return told[:n]


@numba.njit(cache=True)
def consume_and_engage(
    rng, seen, p_consume, p_engage, user, cell, consumed_total, engaged_total, flows, rows
):
    """Items consumed and engagements per touched entry, drawn as two :func:`binomial`
    passes in this order (consumed of ``seen`` at ``p_consume``, then engagements of
    those at ``p_engage``); adds each user's consumed and engaged items to its totals
    and books the flows ``rows`` = (consumed, consumers, engagements, engagers) per
    cell."""
    n = seen.size
    consumed = np.zeros(n, np.int64)
    for i in range(n):
        trials = seen[i]
        if trials == 1:
            consumed[i] = rng.random() < p_consume[i]
        elif trials > 1:
            consumed[i] = rng.binomial(trials, min(max(p_consume[i], 0.0), 1.0))
    engagements = np.zeros(n, np.int64)
    for i in range(n):
        trials = consumed[i]
        if trials == 1:
            engagements[i] = rng.random() < p_engage[i]
        elif trials > 1:
            engagements[i] = rng.binomial(trials, min(max(p_engage[i], 0.0), 1.0))
    for i in range(n):
        c, u = cell[i], user[i]
        consumed_total[u] += consumed[i]
        engaged_total[u] += engagements[i]
        flows[rows[0], c] += consumed[i]
        flows[rows[2], c] += engagements[i]
        if consumed[i] > 0:
            flows[rows[1], c] += 1.0
        if engagements[i] > 0:
            flows[rows[3], c] += 1.0
    return consumed, engagements


@numba.njit(cache=True)
def items_per_user(user, seen):
    """Each entry's user's items seen today over all its entries (entries user-major)."""
    n = user.size
    out = np.empty(n, np.int64)
    start = 0
    for i in range(1, n + 1):
        if i == n or user[i] != user[start]:
            total = 0
            for j in range(start, i):
                total += seen[j]
            for j in range(start, i):
                out[j] = total
            start = i
    return out


@numba.njit(cache=True)
def leave(
    leaves,
    touched_index,
    overposting,
    promotion,
    irrelevance,
    base,
    per_negative,
    attitude,
    following,
    following_by_firm,
    followers,
    n_firms,
    market_bounds,
    flows,
    rows,
):
    """The followers ``leaves`` (flat entries) unfollow: each unfollow is booked over
    its causes in proportion to their parts of its probability, in the order of
    :data:`sim.model.following.CAUSES` (``rows``: their flows, then ``unfollows``):
    base, over-posting, promotion and irrelevance (today's parts of the touched entry,
    0 when not touched), negative attitude (``per_negative`` x max(0, -attitude)).
    Clears following, takes the leavers off the followers stock."""
    n_markets = market_bounds.size - 1
    n_touched = touched_index.size
    parts = np.empty(5)
    for i in range(leaves.size):
        e = leaves[i]
        u = e // n_firms
        f = e - u * n_firms
        c = f * n_markets + market_of(u, market_bounds)
        parts[0] = base
        parts[1] = parts[2] = parts[3] = 0.0
        if n_touched > 0:
            k = min(np.searchsorted(touched_index, e), n_touched - 1)
            if touched_index[k] == e:
                parts[1], parts[2], parts[3] = overposting[k], promotion[k], irrelevance[k]
        parts[4] = per_negative * max(0.0, -np.float64(attitude[e]))
        total = parts[0]
        for j in range(1, 5):
            total += parts[j]
        total = max(total, 1e-300)
        for j in range(5):
            flows[rows[j], c] += parts[j] / total
        flows[rows[5], c] += 1.0
        followers[c] -= 1.0
        following[e] = False
        following_by_firm[f, u] = False


@numba.njit(cache=True)
def join(
    joins,
    left_users,
    following,
    following_by_firm,
    followers,
    brands_followed,
    n_firms,
    market_bounds,
    flows,
    row,
):
    """Distinct flat entries ``joins`` start following (flow ``row``, the followers
    stock, the users' brands followed); ``left_users`` (one per unfollow) follow one
    brand less. Returns the users whose brands followed changed (once per change)."""
    n_markets = market_bounds.size - 1
    changed = np.empty(joins.size + left_users.size, np.int64)
    for i in range(joins.size):
        e = joins[i]
        u = e // n_firms
        f = e - u * n_firms
        c = f * n_markets + market_of(u, market_bounds)
        following[e] = True
        following_by_firm[f, u] = True
        flows[row, c] += 1.0
        followers[c] += 1.0
        brands_followed[u] += 1
        changed[i] = u
    for i in range(left_users.size):
        brands_followed[left_users[i]] -= 1
        changed[joins.size + i] = left_users[i]
    return changed


@numba.njit(cache=True)
def book_purchases(
    user,
    firm,
    n_social,
    first,
    choosers,
    chosen,
    step,
    customer,
    customer_by_firm,
    customers,
    purchases_total,
    last_purchase,
    shop,
    people_per_user,
    prices,
    commission_rate,
    market_bounds,
    flows,
    rows,
):
    """Today's purchases (``user``, ``firm``): the first ``n_social`` are social, the
    rest the category choosers' who chose a brand (``chosen`` >= 0; -1: another brand).

    Every chooser's and buyer's custom with the brands of its market ends, then each
    purchase makes the buyer the brand's customer (flat ``customer``, firm-major
    ``customer_by_firm``, the ``customers`` stock per cell); counts each buyer's
    purchases, notes the day of every chooser's and social buyer's purchase, and
    books the flows ``rows`` = (conversions, social_purchases, category_purchases,
    revenue, commission, new_customers, market_purchases) per cell, revenue and
    commission per real person in purchase order. A new customer is an entry's first
    purchase (``first``: the first of each entry's) that was not its customer before.
    """
    n_firms, n_markets = customer_by_firm.shape[0], market_bounds.size - 1
    n = user.size
    new_customer = np.zeros(n, np.bool_)
    for j in range(first.size):
        i = first[j]
        new_customer[i] = not customer[user[i] * n_firms + firm[i]]
    # Every chooser's and buyer's purchase ends its custom with the market's brands.
    for group in range(2):
        source = choosers if group == 0 else user
        for i in range(source.size):
            if group == 0 and chosen[i] >= 0:
                continue  # a chooser who chose a brand is among the buyers
            u = source[i]
            m = market_of(u, market_bounds)
            for f in range(n_firms):
                if customer[u * n_firms + f]:
                    customer[u * n_firms + f] = False
                    customer_by_firm[f, u] = False
                    customers[f * n_markets + m] -= 1.0
    for i in range(n):
        u, f = user[i], firm[i]
        m = market_of(u, market_bounds)
        c = f * n_markets + m
        if not customer[u * n_firms + f]:
            customer[u * n_firms + f] = True
            customer_by_firm[f, u] = True
            customers[c] += 1.0
        purchases_total[u] += 1
        social = i < n_social
        revenue = people_per_user[m] * prices[f]
        flows[rows[0], c] += 1.0
        if social:
            flows[rows[1], c] += 1.0
        else:
            flows[rows[2], c] += 1.0
        flows[rows[3], c] += revenue
        flows[rows[4], c] += revenue * commission_rate[m] if social and shop[c] else 0.0
        if new_customer[i]:
            flows[rows[5], c] += 1.0
    for i in range(choosers.size + n_social):
        u = choosers[i] if i < choosers.size else user[i - choosers.size]
        last_purchase[u] = step
        m = market_of(u, market_bounds)
        for f in range(n_firms):
            flows[rows[6], f * n_markets + m] += 1.0
