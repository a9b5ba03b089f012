"""Contracts and adapters shared by every suqiu service."""
