"""Internal mediation cases: life cycle and staff API."""
