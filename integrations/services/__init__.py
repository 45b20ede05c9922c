"""Every write to calendar feeds and connections, by concern; the public `<entity>_<verb>` names are here."""
