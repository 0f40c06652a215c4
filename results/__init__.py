"""Projections of the event log; never imports the engine."""
