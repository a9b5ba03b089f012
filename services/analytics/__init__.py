"""Analytics: aggregates maintained from lifecycle events, reports, hotspots, archive and retention."""
