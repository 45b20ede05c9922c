"""Availability: pure slot arithmetic (engine, intervals, wallclock) and the supply loader (`supply`)."""
