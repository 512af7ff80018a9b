"""Pillow 9 API, gone in 10: Image.ANTIALIAS and Image.LINEAR, ImageDraw.textsize and
ImageFont's getsize; run by the compiled _imaging (resampling, filters, codecs) and the plugins Image.open loads."""
import hashlib
import io
import pickle
import warnings

import PIL
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps, ImageStat


def _encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _digest(image, fmt, **options):
    return hashlib.sha256(_encoded(image, fmt, **options)).hexdigest()


def picture():
    """A small picture drawn with the Pillow 9 API."""
    image = Image.new("RGB", (64, 48), (20, 40, 80))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 6, 40, 38), fill=(200, 60, 30), outline=(255, 255, 255))
    draw.line((0, 47, 63, 0), fill=(0, 255, 0), width=3)
    font = ImageFont.load_default()
    draw.text((2, 2), "Pil 9", font=font, fill=(255, 255, 0))
    return image, draw, font


def check():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _check()
    # each deprecation Pillow 9.5 announces, in its words
    found["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return found


def _check():
    image, draw, font = picture()
    small = image.resize((32, 24), Image.ANTIALIAS)
    turned = image.rotate(30, Image.LINEAR, expand=True)
    blurred = image.filter(ImageFilter.GaussianBlur(2))
    reopened = Image.open(io.BytesIO(_encoded(image, "PNG")))
    return {
        "version": PIL.__version__,
        "module": Image.__name__,
        "core": Image.core.__name__,
        "textsize": list(draw.textsize("Hello", font=font)),
        "getsize": list(font.getsize("Hello")),
        "png": _digest(image, "PNG"),
        "small": _digest(small, "PNG"),
        "turned": [list(turned.size), _digest(turned, "PNG")],
        "blurred": _digest(blurred, "PNG"),
        "jpeg": _digest(image, "JPEG", quality=80),
        "webp": _digest(image, "WEBP", lossless=True),
        "autocontrast": _digest(ImageOps.autocontrast(image.convert("L")), "PNG"),
        "mean": [round(v, 6) for v in ImageStat.Stat(image).mean],
        "reopened": [reopened.format, reopened.mode, list(reopened.size), reopened.tobytes() == image.tobytes()],
        "pickled": [type(pickle.loads(pickle.dumps(image))).__module__, pickle.loads(pickle.dumps(image)) == image],
        "formats": sorted(Image.registered_extensions().items()),
        "changed": list(ImageChops.difference(image, blurred).getbbox()),
    }
