"""Pure analytics rules: facts of an order, aggregate keys, hotspots, retention, report figures."""
