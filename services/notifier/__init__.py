"""Notifier: receipts, dispatch notices and SLA warnings, sent once per (event, recipient, channel)."""
