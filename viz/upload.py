"""Scenario upload: a file button that is also a drop zone, sending at most the size limit.

The browser reads at most ``MAX_SCENARIO_BYTES + 1`` bytes of the chosen file and
sends them with the file's name and real size; the server never receives more. The
bytes are handed to :meth:`viz.state.ExploreSession.load_upload`, which parses them
as TOML data only (nothing is executed) and validates them like the CLI does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipyvuetify as v
import solara
import traitlets

from sim.scenario import MAX_SCENARIO_BYTES

TEMPLATE = """
<template>
  <div class="guanxi-upload" data-testid="scenario-upload"
       style="border: 1px dashed #999; border-radius: 4px; padding: 8px; margin: 4px 0"
       @dragover.prevent="" @drop.prevent="dropped">
    <input ref="picker" type="file" accept=".toml,text/plain,application/toml"
           data-testid="scenario-file-input" style="display: none" @change="picked" />
    <v-btn small outlined @click="$refs.picker.click()">
      <v-icon left small>mdi-upload</v-icon>{{ label }}
    </v-btn>
    <span style="font-size: 12px; color: #666; margin-left: 6px">or drop a TOML file here</span>
  </div>
</template>
<script>
module.exports = {
  methods: {
    picked(event) {
      const file = event.target.files[0];
      if (file) {
        this.send(file);
      }
      event.target.value = "";
    },
    dropped(event) {
      const file = event.dataTransfer.files[0];
      if (file) {
        this.send(file);
      }
    },
    async send(file) {
      const head = await file.slice(0, this.max_bytes + 1).arrayBuffer();
      this.upload({ name: file.name, size: file.size }, [head]);
    },
  },
};
</script>
"""


class ScenarioUploadWidget(v.VuetifyTemplate):
    """File picker and drop zone; calls ``on_upload(name, head_bytes, size)``."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    label = traitlets.Unicode("Upload scenario").tag(sync=True)
    max_bytes = traitlets.Int(MAX_SCENARIO_BYTES).tag(sync=True)
    on_upload = traitlets.Callable(None, allow_none=True)

    def vue_upload(self, data: dict[str, Any], buffers: list[Any] | None = None) -> None:
        head = bytes(buffers[0]) if buffers else b""
        name = str(data.get("name") or "upload.toml")
        size = int(data.get("size") or len(head))
        if self.on_upload is not None:
            self.on_upload(name, head[: self.max_bytes + 1], size)


@solara.component
def ScenarioUpload(on_upload: Callable[[str, bytes, int], None], label: str = "Upload scenario"):
    """The upload control (see :class:`ScenarioUploadWidget`)."""
    return ScenarioUploadWidget.element(label=label, on_upload=on_upload)
