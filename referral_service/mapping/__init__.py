"""Declarative mappings: each source's format onto the one canonical referral."""

from referral_service.mapping.engine import Finding, Mapping, Record, load_mapping

__all__ = ["Finding", "Mapping", "Record", "load_mapping"]
