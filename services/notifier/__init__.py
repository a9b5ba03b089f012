"""Notifier: SMS, e-mail, WeChat, webhooks and the inbox; templated, sent once per (event,
recipient, channel), retried with backoff, quiet at night (see docs/notifier.md)."""
