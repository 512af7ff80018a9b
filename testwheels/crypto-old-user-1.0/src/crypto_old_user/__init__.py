import cryptography
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

EXPECTED = "49.0.0"


def report():
    assert cryptography.__version__ == EXPECTED, cryptography.__version__
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
    signature = key.sign(b"message", pss, hashes.SHA256())
    key.public_key().verify(signature, b"message", pss, hashes.SHA256())
    try:
        key.public_key().verify(signature, b"tampered", pss, hashes.SHA256())
        rejected = False
    except InvalidSignature:
        rejected = True
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    loaded = serialization.load_pem_private_key(pem, password=None)
    return {
        "version": cryptography.__version__,
        "module": cryptography.__name__,
        "key_class_module": type(loaded).__module__,
        "round_trip": loaded.private_numbers() == key.private_numbers(),
        "tampered_rejected": rejected,
    }
