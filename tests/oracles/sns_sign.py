"""Signs or checks an SNS HTTPS message with the `aws-sns-message-validator` package, so
the tests do not only check our SNS signature code against itself. The package only
validates (SignatureVersion 1, SHA1withRSA); signing uses the package's own canonical
string (`_get_plaintext_to_sign`) and `cryptography`, then the package validates the
result before it is printed. The signing certificate is injected (a test-only trust
anchor) instead of being fetched from SigningCertURL.

usage: sns_sign.py sign CERT_PEM KEY_PEM < message.json   (prints the signed JSON)
       sns_sign.py validate CERT_PEM < signed.json        (exit 0 if the package accepts it)
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from sns_message_validator import SNSMessageValidator


class _FixedCert:
    """Stands in for the package's cached HTTP session: every URL yields the test cert."""

    def __init__(self, pem: bytes):
        self.content = pem

    def get(self, _url):
        return self


def _validator(cert_path: str) -> SNSMessageValidator:
    validator = SNSMessageValidator()
    with open(cert_path, "rb") as f:
        validator._cert_session = _FixedCert(f.read())
    return validator


def main() -> int:
    mode, cert_path = sys.argv[1], sys.argv[2]
    message = json.loads(sys.stdin.read())
    validator = _validator(cert_path)
    if mode == "sign":
        with open(sys.argv[3], "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        message["SignatureVersion"] = "1"
        plaintext = validator._get_plaintext_to_sign(message).encode()
        signature = key.sign(plaintext, PKCS1v15(), hashes.SHA1())
        message["Signature"] = base64.b64encode(signature).decode()
    try:
        validator.validate_message(message)
    except Exception as e:  # the package's own exceptions: report and fail
        print(f"the package refused the message: {e!r}", file=sys.stderr)
        return 1
    if mode == "sign":
        print(json.dumps(message))
    return 0


if __name__ == "__main__":
    sys.exit(main())
