"""charset-normalizer 3.5, beside a library that uses 3.4, in one process."""
import json

import charset_normalizer
import charset_old_user
from charset_normalizer import from_bytes, md

TEXT = "Grüße aus Köln: schöne Bücher, süße Äpfel und große Straßen. Die Mädchen spielen fröhlich im Garten."
SAMPLE = TEXT.encode("latin-1")


def check():
    best = from_bytes(SAMPLE).best()
    return {
        "app": {
            "version": charset_normalizer.__version__,
            "module": charset_normalizer.__name__,
            "md": [md.__name__, md.__file__.endswith(".so")],
            "encoding": best.encoding,
            "round_trip": str(best) == TEXT,
        },
        "library": charset_old_user.check(),
    }


def main():
    print(json.dumps(check(), sort_keys=True))
