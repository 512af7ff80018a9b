"""yarl 1.25: top-level query_to_pairs with max_fields, a backslash in the authority rejected."""
import json

import yarl
import yarl_old_user
from yarl import URL


def check():
    url = URL.build(scheme="http", host="example.com", path="/a b/ц", query={"q": "x y&z"})
    try:
        URL("http://exa\\mple.com/")
        backslash = "accepted"
    except ValueError:
        backslash = "rejected"
    try:
        yarl.query_to_pairs("a=1&b=2", max_fields=1)
        limited = False
    except ValueError:
        limited = True
    return {
        "app": {
            "version": yarl.__version__,
            "module": yarl.__name__,
            "quoter": yarl._quoting._Quoter.__module__,
            "quoted": str(url),
            "unquoted": [URL("http://example.com/%D1%86%20x").path, url.query["q"]],
            "query_to_pairs": yarl.query_to_pairs("a=%20b&c"),
            "max_fields": limited,
            "backslash_host": backslash,
        },
        "library": yarl_old_user.check(),
    }


def main():
    print(json.dumps(check(), sort_keys=True, ensure_ascii=False))
