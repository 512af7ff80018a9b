"""yarl 1.23: no top-level query_to_pairs, a backslash accepted in the authority."""
import yarl
from yarl import URL


def check():
    url = URL.build(scheme="http", host="example.com", path="/a b/ц", query={"q": "x y&z"})
    return {
        "version": yarl.__version__,
        "module": yarl.__name__,
        "quoter": yarl._quoting._Quoter.__module__,
        "quoted": str(url),
        "unquoted": [URL("http://example.com/%D1%86%20x").path, url.query["q"]],
        "query_to_pairs": hasattr(yarl, "query_to_pairs"),
        "backslash_host": URL("http://exa\\mple.com/").raw_host,
    }
