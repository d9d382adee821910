"""Agent-per-user Mesa reference of the market model: benchmark baseline and test oracle."""
