"""The official Python MCP SDK (FastMCP), stateless with JSON responses, doing what the
side-by-side benchmark asks of every server: validate the caller's RS256 token against the
local issuer (signature, exp/nbf, iss, aud, the required scope) and answer a tool that returns
the caller's oid, tid and scopes.

Started by benches/side_by_side.rs; configured through the environment:
BENCH_PORT, BENCH_ISSUER (the v2 issuer URL, whose OpenID metadata names the JWKS),
BENCH_AUDIENCES (comma-separated), BENCH_SCOPE.

The signing keys are fetched lazily, on the first token, as the Rust server does.
"""

import json
import os
import urllib.request

import jwt
from jwt import PyJWKClient
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.fastmcp import FastMCP

PORT = int(os.environ["BENCH_PORT"])
ISSUER = os.environ["BENCH_ISSUER"]
AUDIENCES = os.environ["BENCH_AUDIENCES"].split(",")
SCOPE = os.environ["BENCH_SCOPE"]


class EntraTokenVerifier(TokenVerifier):
    """RS256 only, keys from the issuer's JWKS (discovered once, then cached by PyJWKClient)."""

    def __init__(self) -> None:
        self._jwks: PyJWKClient | None = None

    def _keys(self) -> PyJWKClient:
        if self._jwks is None:
            with urllib.request.urlopen(f"{ISSUER}/.well-known/openid-configuration") as answer:
                metadata = json.load(answer)
            self._jwks = PyJWKClient(metadata["jwks_uri"], cache_keys=True)
        return self._jwks

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            key = self._keys().get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=AUDIENCES,
                issuer=ISSUER,
                leeway=60,
                options={"require": ["exp", "nbf", "iss", "aud"]},
            )
        except jwt.PyJWTError:
            return None
        scopes = claims.get("scp", "").split()
        if SCOPE not in scopes or "tid" not in claims or "oid" not in claims:
            return None
        return AccessToken(
            token=token,
            client_id=claims.get("azp", ""),
            scopes=scopes,
            expires_at=int(claims["exp"]),
            claims=claims,
        )


mcp = FastMCP(
    "bench-python",
    host="127.0.0.1",
    port=PORT,
    stateless_http=True,
    json_response=True,
    token_verifier=EntraTokenVerifier(),
    auth=AuthSettings(
        issuer_url=ISSUER,
        resource_server_url=f"http://127.0.0.1:{PORT}/mcp",
        required_scopes=[SCOPE],
        validate_token_resource=False,
    ),
)


@mcp.tool()
def server_info() -> dict:
    """Who is calling: the caller's tenant, object id and scopes."""
    token = get_access_token()
    claims = token.claims or {}
    return {
        "name": "bench-python",
        "tid": claims["tid"],
        "oid": claims["oid"],
        "scopes": token.scopes,
    }


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
