"""Solara's ECharts widget, adjusted for charts that change after every simulated day.

Solara's ``echarts.vue`` is used as it is, with three edits made when this module
loads (each checked; :data:`PATCHED` says whether all applied):

* **merge, do not rebuild**: a new option is merged into the chart
  (``replaceMerge`` of series, panels, axes and titles) instead of rebuilding every
  component of the chart; this was most of the browser's work after a step;
* **draw what is seen**: a chart scrolled out of view keeps its newest option and
  draws it when it comes back into view (an ``IntersectionObserver`` with a margin),
  so a step redraws the few charts on screen, not all of them;
* **no early update**: ECharts loads asynchronously; an option that arrives before
  the chart exists is left for its creation (which uses the latest option) instead
  of failing with "Cannot read properties of undefined";

and it loads the minified build of the same ECharts version from the same local
assets (a third of the bytes to parse on the first page load).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import solara
import solara.components.echarts as solara_echarts
import traitlets

_MERGE = "{replaceMerge: ['series', 'grid', 'xAxis', 'yAxis', 'title']}"
_EDITS = (
    ("/dist/echarts.js", "/dist/echarts.min.js"),
    (
        # the watcher (create() has its own, always valid, call further down)
        "      this.chart.setOption(this.option, true);\n    },\n  },",
        f"""      if (!this.chart) {{
        return;
      }}
      if (this.offscreen) {{
        this.stale = true;
        return;
      }}
      this.chart.setOption(this.option, {_MERGE});
    }},
  }},""",
    ),
    (
        "      this.chart = this.echarts.init(this.$refs.echarts);\n",
        f"""      this.chart = this.echarts.init(this.$refs.echarts);
      if (window.IntersectionObserver) {{
        this.visibility = new IntersectionObserver((entries) => {{
          this.offscreen = !entries[entries.length - 1].isIntersecting;
          if (!this.offscreen && this.stale) {{
            this.stale = false;
            this.chart.setOption(this.option, {_MERGE});
          }}
        }}, {{ rootMargin: "150px" }});
        this.visibility.observe(this.$refs.echarts);
      }}
""",
    ),
    (
        "  beforeDestroy() {\n",
        "  beforeDestroy() {\n    if (this.visibility) {\n      this.visibility.disconnect();\n    }\n",
    ),
)


def _template() -> tuple[str, bool]:
    """Solara's template with the edits, and whether every edit applied."""
    original = Path(solara_echarts.__file__).with_name("echarts.vue").read_text()
    source = original
    for old, new in _EDITS:
        if source.count(old) != 1:
            return original, False
        source = source.replace(old, new)
    return source, True


TEMPLATE, PATCHED = _template()
# The script the template loads, under the asset server's ECharts folder.
ECHARTS_SCRIPT = "echarts@{}/dist/echarts.min.js".format(
    re.search(r'const version = "([^"]+)"', TEMPLATE).group(1)  # type: ignore[union-attr]
)


class GuardedEchartsWidget(solara_echarts.EchartsWidget):
    template_file = None
    template = traitlets.Unicode(TEMPLATE).tag(sync=True)


@solara.component
def FigureEcharts(option: dict, attributes: dict[str, Any], responsive: bool = True):
    """Like ``solara.FigureEcharts`` (no click handlers), on the adjusted widget."""
    return GuardedEchartsWidget.element(option=option, attributes=attributes, responsive=responsive)
