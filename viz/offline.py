"""Keep the Solara server local: every asset from this machine, no calls home.

Solara serves its front-end (Vue, Vuetify, fonts, ECharts, RequireJS) from the
``solara-assets`` package under ``<prefix>/share/solara/cdn`` when its asset proxy
is on. A file missing there would be fetched from a public CDN by the server, and
the server would also send usage telemetry and, in development mode, embed a check
page from solara.dev. :func:`configure_offline` turns all of that off, so the page
loads and works on a machine with no internet.

:data:`OFFLINE_ENVIRONMENT` holds the same settings as environment variables, for
``guanxi ui`` to set before Solara is imported (Solara reads its settings once, at
import); :func:`configure_offline` also patches the live settings objects, which
covers ``solara run viz/app.py``, where Solara is imported before the app.
"""

from __future__ import annotations

import os

# A CDN address that cannot leave the machine: port 9 (discard) on the loopback
# interface. A missing asset then fails at once instead of being fetched online.
LOCAL_ONLY_CDN = "http://127.0.0.1:9/"

OFFLINE_ENVIRONMENT: dict[str, str] = {
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_ASSETS_CDN": LOCAL_ONLY_CDN,
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
}


def set_offline_environment() -> None:
    """Export :data:`OFFLINE_ENVIRONMENT` (call before Solara is imported)."""
    os.environ.update(OFFLINE_ENVIRONMENT)


def configure_offline() -> None:
    """Serve assets locally, never from a CDN; no telemetry; no check page from solara.dev."""
    set_offline_environment()
    import solara.checks
    import solara.server.settings
    import solara.settings

    solara.settings.assets.proxy = True
    solara.settings.assets.cdn = LOCAL_ONLY_CDN
    solara.server.settings.telemetry.mixpanel_enable = False
    # The development-mode page embeds an iframe from solara.dev once per machine;
    # the server looks this function up on every page render, so replacing it works.
    solara.checks.should_perform_solara_check = _never


def _never() -> bool:
    return False


def local_asset_directory() -> str:
    """Where the local copies of the front-end assets are served from."""
    import solara.server.settings

    return str(solara.server.settings.assets.proxy_cache_dir)
