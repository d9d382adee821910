"""Platform profiles: what a market's main platform sets by default, with its sources.

A market is the users of one platform in one country or region. The profile gives
the defaults of the market's ``organic_reach``, ``ad_cpm`` (in EUR, the bundled
scenarios' currency) and ``engagement_offset``, and the published band of engagement
per follower per post that validation checks (``sim/validation/outputs.py``). Figures
and confidence are from ``../shared/kpi_targets.md``; ``engagement_offset`` is
calibrated by ``python -m sim.calibration`` to the band's median for Facebook,
Instagram and Weibo (docs/calibration.md: a calibrated input, not a validation); the
other platforms' offsets are assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PlatformName = Literal["facebook", "instagram", "tiktok", "weibo", "wechat", "douyin"]


@dataclass(frozen=True)
class Platform:
    name: str
    organic_reach: float  # share of followers who see a post
    reach_source: str
    ad_cpm: float  # EUR per 1,000 impressions
    cpm_source: str
    engagement_offset: float  # calibrated shift of the engagement logit
    # Engagement per follower per post: (low, median, high), or None when not published.
    engagement_band: tuple[float, float, float] | None
    engagement_source: str

    def defaults(self) -> dict[str, float]:
        return {
            "organic_reach": self.organic_reach,
            "ad_cpm": self.ad_cpm,
            "engagement_offset": self.engagement_offset,
        }


PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            "facebook",
            organic_reach=0.06,
            reach_source="2-8% of fans (NYT 2014); 6.15-6.5% (Ogilvy, EdgeRank 2014)",
            ad_cpm=5.0,
            cpm_source="UK 5.98, DE 5.33, FR 4.75 USD (2024, low confidence)",
            engagement_offset=-0.08,
            engagement_band=(0.0005, 0.0006, 0.0015),
            engagement_source="Rival IQ median 0.060-0.09% (2018-2023); Socialinsider 0.15%",
        ),
        Platform(
            "instagram",
            organic_reach=0.25,
            reach_source="Minter.io 2019: 19-38% of followers by account size",
            ad_cpm=6.0,
            cpm_source="assumption: close to Facebook's CPM",
            engagement_offset=0.55,
            engagement_band=(0.0030, 0.0047, 0.0122),
            engagement_source="Rival IQ median 0.47% (2022), 1.22% (2019); Socialinsider 0.48%",
        ),
        Platform(
            "tiktok",
            organic_reach=0.30,
            reach_source="assumption (no published per-follower reach)",
            ad_cpm=5.0,
            cpm_source="assumption",
            engagement_offset=2.4,
            engagement_band=(0.026, 0.041, 0.057),
            engagement_source="Rival IQ median per follower 2.6% (2024) to 5.69% (2022)",
        ),
        Platform(
            "weibo",
            organic_reach=0.10,
            reach_source="assumption (not published)",
            ad_cpm=0.65,
            cpm_source="Weibo Fensi Tong CPM from RMB 5 (2013)",
            engagement_offset=-1.12,
            engagement_band=(0.0010, 0.0020, 0.0031),
            engagement_source="L2 2014: 0.100% (568k fans) to 0.308% (334k fans)",
        ),
        Platform(
            "wechat",
            organic_reach=0.03,
            reach_source="official-account open rate '<3%' (PLTFRM, low confidence)",
            ad_cpm=3.0,
            cpm_source="assumption",
            engagement_offset=-0.6,
            engagement_band=None,
            engagement_source="not published",
        ),
        Platform(
            "douyin",
            organic_reach=0.20,
            reach_source="assumption",
            ad_cpm=0.5,
            cpm_source="in-feed CPM about RMB 4 by bidding (low confidence)",
            engagement_offset=1.9,
            engagement_band=None,
            engagement_source="not published",
        ),
    )
}
