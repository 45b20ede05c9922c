"""Availability: pure slot arithmetic (engine, intervals, wallclock) and its database loader."""
