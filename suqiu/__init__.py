"""Operator tooling: the `suqiu` command (run a service, local stack, demo, benchmark)."""
