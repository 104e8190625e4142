"""Signs a Twilio webhook with Twilio's own SDK (RequestValidator), so the tests do not
only check our signature code against itself.

usage: twilio_sign.py AUTH_TOKEN URL PARAMS_JSON
prints the X-Twilio-Signature value; also validates it with the SDK before printing.
"""
import json
import sys

from twilio.request_validator import RequestValidator


def main() -> int:
    token, url, params_json = sys.argv[1], sys.argv[2], sys.argv[3]
    params = json.loads(params_json)
    validator = RequestValidator(token)
    signature = validator.compute_signature(url, params)
    if not validator.validate(url, params, signature):
        print("the SDK does not validate its own signature", file=sys.stderr)
        return 1
    print(signature)
    return 0


if __name__ == "__main__":
    sys.exit(main())
