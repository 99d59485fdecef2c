"""Intake: referrals and recalls pushed by sources, checked, stored, mapped, applied."""
