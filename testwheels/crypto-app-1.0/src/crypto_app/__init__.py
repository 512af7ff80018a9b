import json

import cryptography
import crypto_old_user
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

EXPECTED = "50.0.2"


def report():
    assert cryptography.__version__ == EXPECTED, cryptography.__version__
    key = ed25519.Ed25519PrivateKey.generate()
    signature = key.sign(b"message")
    key.public_key().verify(signature, b"message")
    try:
        key.public_key().verify(signature, b"tampered")
        rejected = False
    except InvalidSignature:
        rejected = True
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "version": cryptography.__version__,
        "module": cryptography.__name__,
        "key_class_module": type(key).__module__,
        "raw_public_key_length": len(raw),
        "tampered_rejected": rejected,
    }


def main():
    print(json.dumps({"app": report(), "old_user": crypto_old_user.report()}, sort_keys=True))
