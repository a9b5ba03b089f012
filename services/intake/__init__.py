"""Intake: normalises channel messages into work orders, issues ticket numbers and receipts."""
