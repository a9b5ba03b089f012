"""Dispatcher: routes classified work orders to their departments and owns their lifecycle."""
