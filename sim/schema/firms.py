"""``[[firms]]``: a firm and its strategy in each target market."""

from __future__ import annotations

from pydantic import Field, model_validator

from sim.schema.sections import CONTENT_TYPES, Section, param, require_unique


# --------------------------------------------------------------------------- firms
class ContentMix(Section):
    """Relative weights of the four content types; normalised to shares."""

    informational: float = param(
        0.3,
        "Weight of informational posts: fit transactional motives, raise purchase intent.",
        ge=0,
        le=1000,
    )
    promotional: float = param(
        0.3,
        "Weight of promotional posts (deals): fit transactional motives, raise purchase "
        "intent most, and make followers unfollow.",
        ge=0,
        le=1000,
    )
    entertaining: float = param(
        0.2,
        "Weight of entertaining posts: fit both motives half, raise engagement and shares.",
        ge=0,
        le=1000,
    )
    relational: float = param(
        0.2, "Weight of community, relational posts: fit relational motives.", ge=0, le=1000
    )

    @model_validator(mode="after")
    def _not_all_zero(self) -> ContentMix:
        if sum(getattr(self, k) for k in CONTENT_TYPES) <= 0:
            raise ValueError("at least one content weight must be above 0")
        return self

    def shares(self) -> list[float]:
        total = sum(getattr(self, k) for k in CONTENT_TYPES)
        return [getattr(self, k) / total for k in CONTENT_TYPES]


class StrategySection(Section):
    """A firm's social media strategy in one target market."""

    market: str = param(..., "Target market (a market name).")
    posts_per_day: float = param(2.0, "Mean posts per day.", unit="posts/day", ge=0, le=50)
    content_mix: ContentMix = Field(default_factory=ContentMix, description="Content mix.")
    responsiveness: float = param(
        0.3, "Share of users' comments the firm aims to answer.", ge=0, le=1
    )
    localisation: float = param(
        0.5,
        "How far content is adapted to the market's culture (0 = standardised).",
        ge=0,
        le=1,
    )
    shop: bool = param(False, "Sells through an in-platform (social-commerce) shop.")
    paid_reach: float = param(
        0.0,
        "Share of the market's non-followers reached by ads per day (paid at the "
        "market's CPM per real person reached).",
        unit="1/day",
        ge=0,
        le=1,
    )
    budget: float = param(
        5_000.0,
        "Daily social media budget in this market: posts are paid first, then ads, then answers.",
        unit="currency/day",
        ge=0,
        le=1e12,
    )
    initial_awareness: float = param(
        0.05, "Share of the market aware of the firm at the start.", ge=0, le=1
    )
    initial_followers: float = param(
        0.01,
        "Share of the market following the firm at the start (at most the aware share).",
        ge=0,
        le=1,
    )
    initial_attitude: float = param(
        0.1, "Mean attitude of aware users at the start (-1 to 1).", ge=-1, le=1
    )

    @model_validator(mode="after")
    def _followers_are_aware(self) -> StrategySection:
        if self.initial_followers > self.initial_awareness:
            raise ValueError(
                f"initial_followers ({self.initial_followers}) must be at most "
                f"initial_awareness ({self.initial_awareness})"
            )
        return self


class FirmSection(Section):
    """A firm: home market, economics, CRM, guanxi behaviour and strategies."""

    name: str = param(..., "Unique firm name.")
    home_market: str = param(..., "Market the firm comes from (a market name).")
    product_quality: float = param(
        0.2,
        "How good buyers find the product (-1 to 1); purchases move attitude toward it.",
        ge=-1,
        le=1,
    )
    price: float = param(30.0, "Price of one purchase. Assumption.", unit="currency", ge=0, le=1e9)
    gross_margin: float = param(0.4, "Share of revenue kept after cost of goods.", ge=0, le=1)
    initial_crm_capability: float = param(0.2, "Social CRM capability at the start.", ge=0, le=1)
    response_capacity: float = param(
        300.0,
        "Comments from real people the firm can answer per day at CRM capability 0.",
        unit="comments/day",
        ge=0,
        le=1e9,
    )
    cost_per_post: float = param(
        300.0,
        "Cost of producing one post (content production). Assumption.",
        unit="currency",
        ge=0,
        le=1e9,
    )
    cost_per_response: float = param(
        2.0,
        "Staff cost of answering one comment (a few minutes of a community manager). Assumption.",
        unit="currency",
        ge=0,
        le=1e9,
    )
    adaptive: bool = param(False, "Imitates better-performing partners or peers.")
    revision_interval: int = param(
        30, "Days between strategy revisions of an adaptive firm.", unit="days", ge=1, le=10_000
    )
    imitation_rate: float = param(
        0.3, "Share of the gap to a better performer's strategy closed per revision.", ge=0, le=1
    )
    seeks_partners: bool = param(True, "Searches for guanxi partners.")
    local_partner: str = param(
        "",
        "A chosen local partner: the name of a firm whose home market this firm targets, "
        "with which it has a guanxi tie from day 0 (then kept or cut by the guanxi rules); "
        "empty: none.",
    )
    reciprocity: float = param(
        1.0, "How fully the firm returns favours to its partners (0 = free rider).", ge=0, le=1
    )
    strategies: list[StrategySection] = Field(
        ..., min_length=1, description="One strategy per target market."
    )

    @model_validator(mode="after")
    def _unique_strategy_markets(self) -> FirmSection:
        require_unique((s.market for s in self.strategies), "strategies", "market")
        return self
