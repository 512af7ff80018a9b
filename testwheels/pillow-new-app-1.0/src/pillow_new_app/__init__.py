"""The newest Pillow's API, missing from 9.5: Image.Resampling, ImageDraw.textbbox and textlength,
ImageFont.load_default(size=...); imported before the Pillow-9 library it uses."""
import hashlib
import io
import json

import PIL
from PIL import Image, ImageDraw, ImageFilter, ImageFont


def _encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _digest(image, fmt, **options):
    return hashlib.sha256(_encoded(image, fmt, **options)).hexdigest()


def own():
    image = Image.new("RGB", (64, 48), (20, 40, 80))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 6, 40, 38), radius=6, fill=(200, 60, 30), outline=(255, 255, 255))
    font = ImageFont.load_default(size=12)
    draw.text((2, 2), "Pil 13", font=font, fill=(255, 255, 0))
    small = image.resize((32, 24), Image.Resampling.LANCZOS)
    reopened = Image.open(io.BytesIO(_encoded(image, "PNG")))
    return {
        "version": PIL.__version__,
        "module": Image.__name__,
        "core": Image.core.__name__,
        "textbbox": list(draw.textbbox((0, 0), "Hello", font=ImageFont.load_default())),
        "textlength": draw.textlength("Hello", font=ImageFont.load_default()),
        "png": _digest(image, "PNG"),
        "small": _digest(small, "PNG"),
        "blurred": _digest(image.filter(ImageFilter.GaussianBlur(2)), "PNG"),
        "jpeg": _digest(image, "JPEG", quality=80),
        "webp": _digest(image, "WEBP", lossless=True),
        "reopened": [reopened.format, reopened.mode, list(reopened.size), reopened.tobytes() == image.tobytes()],
    }


def check():
    found = {"app": own()}
    import pillow_old_user

    found["library"] = pillow_old_user.check()
    return found


def main():
    print(json.dumps(check(), sort_keys=True))
