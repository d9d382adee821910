"""The page Solara serves, asking at once for the scripts its widgets will need.

Solara's page loads its application script, and only once that has run does it ask
for the widget libraries (``jupyter-vuetify`` then ``jupyter-vue``, one after the
other), and only when the first chart is built does it ask for ECharts (1 MB). On a
first visit each request waits for the step before it. :func:`preload_scripts`
serves Solara's own page template with ``<link rel="preload">`` hints for those
three scripts, so the browser fetches them while it runs the application script;
when they are asked for they come from its memory cache. Nothing else in the page
changes, and the addresses are the ones the page asks for (same server, no CDN).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jinja2

from viz.echarts_widget import ECHARTS_SCRIPT

# Solara's template with the hints first in its <head> (``super()`` keeps all of it).
INDEX_TEMPLATE = (
    '{% extends "solara.html.j2" %}\n'
    "{% block header %}\n"
    '    <link rel="preload" as="script" href="{{ jupyter_root_path }}/nbextensions/jupyter-vuetify/nodeps.js">\n'
    '    <link rel="preload" as="script" href="{{ jupyter_root_path }}/nbextensions/jupyter-vue/nodeps.js">\n'
    f'    <link rel="preload" as="script" href="{{{{ cdn }}}}/{ECHARTS_SCRIPT}">\n'
    "{{ super() }}\n"
    "{% endblock header %}\n"
)


def preload_scripts() -> None:
    """Serve :data:`INDEX_TEMPLATE` as Solara's page (idempotent; before the first visit)."""
    import solara.server.server as server

    if getattr(server.get_jinja_env, "preloads", False):
        return
    solara_env: Callable[..., jinja2.Environment] = server.get_jinja_env

    @functools.cache
    def environment(app_name: str) -> jinja2.Environment:
        base = solara_env(app_name=app_name)
        ours = jinja2.DictLoader({server.template_name: INDEX_TEMPLATE})
        return base.overlay(loader=jinja2.ChoiceLoader([ours, base.loader]))

    environment.preloads = True  # type: ignore[attr-defined]
    server.get_jinja_env = environment
