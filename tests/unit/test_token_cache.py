import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.security.tokens import InvalidToken, TokenVerifier, mint_token


def test_a_cached_token_stops_working_when_it_expires():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    verifier = TokenVerifier([key.public_key()], issuer="iss")
    token = mint_token(key, issuer="iss", scopes=["s"], org="991825827", ttl_seconds=1)
    assert verifier.verify(token)["scope"] == "s"
    assert verifier.verify(token)["scope"] == "s"  # from the cache
    time.sleep(1.2)
    with pytest.raises(InvalidToken):
        verifier.verify(token)
