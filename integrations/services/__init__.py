"""Every write to calendar feeds, connections and the gazetteer, by concern; the public `<entity>_<verb>`
names are here."""

from .connections import NotSyncing, connection_connect, connection_disconnect, connection_sync_now
from .feeds import feed_create, feed_fetched, feed_revoke, feed_update_options
from .gazetteer import GazetteerImport, GazetteerImportError, gazetteer_import
from .sync import connection_pull, connection_push, connection_sync

__all__ = [
    "GazetteerImport",
    "GazetteerImportError",
    "NotSyncing",
    "connection_connect",
    "connection_disconnect",
    "connection_pull",
    "connection_push",
    "connection_sync",
    "connection_sync_now",
    "feed_create",
    "feed_fetched",
    "feed_revoke",
    "feed_update_options",
    "gazetteer_import",
]
