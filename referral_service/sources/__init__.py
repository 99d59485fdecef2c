"""Referring systems (courts, the arbitration commission) as configuration."""

from referral_service.sources.registry import DeliveryPolicy, Source, SourceRegistry

__all__ = ["DeliveryPolicy", "Source", "SourceRegistry"]
