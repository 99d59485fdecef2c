"""Outbound reports: the outbox, its rendering, and the scheduled delivery back to sources."""
