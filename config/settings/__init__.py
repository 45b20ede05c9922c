"""Settings: base.py holds everything; dev, test and prod only change what differs."""
