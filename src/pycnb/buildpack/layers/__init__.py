"""One module per layer: its name, metadata, invalidation rules, env and log lines."""
