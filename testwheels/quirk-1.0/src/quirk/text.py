"""Text that leaves the process and happens to be the library's name."""
from quirk import BANNER

TABLE_PREFIX = "quirk"


def banner():
    return {
        "banner": BANNER,
        "sql": f"CREATE TABLE {TABLE_PREFIX}_items (id INTEGER)",
        "agent": "/".join(["quirk", "1.0"]),
    }
