"""charset-normalizer 3.4: from_bytes() and the legacy detect(), run by its compiled md and cd modules."""
import charset_normalizer
from charset_normalizer import detect, from_bytes, md

TEXT = "Привет, как дела? Сегодня хорошая погода, и мы идём гулять в парк."
SAMPLE = TEXT.encode("cp1251")


def check():
    best = from_bytes(SAMPLE).best()
    return {
        "version": charset_normalizer.__version__,
        "module": charset_normalizer.__name__,
        "md": [md.__name__, md.MessDetectorPlugin.__module__, md.__file__.endswith(".so")],
        "encoding": best.encoding,
        "round_trip": str(best) == TEXT,
        "detect": detect(SAMPLE)["encoding"],
    }
