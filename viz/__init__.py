"""The strategist's browser UI (Solara): `guanxi ui` or `solara run viz/app.py`; see docs/ui.md."""
