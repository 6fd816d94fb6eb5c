"""Drives the official Python MCP SDK client (mcp<2) against the server under test and prints
what it saw as one JSON line; the Rust tests assert on it.

    python py_client.py token <mcp-url> <bearer-token>
        a client that already holds a token
    python py_client.py oauth <mcp-url> <client-id> [<initial-token>]
        a client that starts with no token (or with <initial-token>) and signs in the way the SDK
        does: 401 -> protected-resource metadata -> authorization-server metadata -> authorization
        code with PKCE -> token -> retry; a 403 insufficient_scope steps up. The "browser" reads
        the authorization redirect; the local issuer signs the user in without a page.
"""

import asyncio
import html
import json
import re
import sys
from urllib.parse import parse_qs, urlparse

import httpx
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT = "http://127.0.0.1:33418/callback"


class MemoryStorage:
    """A pre-registered public client (Entra has no dynamic registration) and its tokens."""

    def __init__(self, client_id: str, initial_token: str | None):
        self.client = OAuthClientInformationFull(
            client_id=client_id, redirect_uris=[REDIRECT], token_endpoint_auth_method="none"
        )
        self.tokens = OAuthToken(access_token=initial_token, token_type="Bearer") if initial_token else None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


class Browser:
    """Follows the authorization URL up to the redirect and keeps the code."""

    def __init__(self):
        self.authorizations = []
        self.callback = None

    async def open(self, authorization_url: str) -> None:
        query = parse_qs(urlparse(authorization_url).query)
        self.authorizations.append({"scope": query.get("scope", [None])[0], "resource": query.get("resource", [None])[0]})
        async with httpx.AsyncClient() as http:
            answer = await http.get(authorization_url, follow_redirects=False)
        location = answer.headers.get("location")
        if not location:
            raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text}")
        params = parse_qs(urlparse(location).query)
        if "code" not in params:
            raise RuntimeError(f"sign-in refused: {location}")
        self.callback = (params["code"][0], params.get("state", [None])[0])

    async def returned(self):
        return self.callback


class ConsentingBrowser:
    """A user agent for broker mode: cookies, redirects, and the consent form."""

    def __init__(self):
        self.authorizations = []
        self.callback = None
        self.cookies = {}
        self.consent_pages = 0

    def _remember(self, response):
        for line in response.headers.get_list("set-cookie"):
            pair = line.split(";")[0]
            name, _, value = pair.partition("=")
            if not value or "max-age=0" in line.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    async def _request(self, http, method, url, data=None):
        headers = {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        response = await http.request(method, url, data=data, headers=headers, follow_redirects=False)
        self._remember(response)
        return response

    async def open(self, authorization_url: str) -> None:
        query = parse_qs(urlparse(authorization_url).query)
        self.authorizations.append(
            {
                "scope": query.get("scope", [None])[0],
                "resource": query.get("resource", [None])[0],
                "clientId": query.get("client_id", [None])[0],
            }
        )
        async with httpx.AsyncClient() as http:
            response = await self._request(http, "GET", authorization_url)
            for _ in range(12):
                location = response.headers.get("location")
                if location:
                    target = str(httpx.URL(str(response.url)).join(location))
                    if target.startswith(REDIRECT):
                        params = parse_qs(urlparse(target).query)
                        if "code" not in params:
                            raise RuntimeError(f"sign-in refused: {target}")
                        self.callback = (params["code"][0], params.get("state", [None])[0])
                        return
                    response = await self._request(http, "GET", target)
                    continue
                page = response.text
                if response.status_code != 200 or 'name="decision"' not in page:
                    raise RuntimeError(f"sign-in stopped: {response.status_code} {page}")

                def hidden(name):
                    return html.unescape(re.search(f'name="{name}" value="([^"]*)"', page).group(1))

                action = html.unescape(re.search(r'<form method="post" action="([^"]*)"', page).group(1))
                self.consent_pages += 1
                response = await self._request(
                    http, "POST", action, data={"request": hidden("request"), "csrf": hidden("csrf"), "decision": "approve"}
                )
        raise RuntimeError("too many redirects")

    async def returned(self):
        return self.callback


class EmptyStorage(MemoryStorage):
    """A client that has registered nowhere yet."""

    def __init__(self):
        self.client = None
        self.tokens = None


async def main(mode: str, url: str, arg: str, initial_token: str | None) -> None:
    browser = Browser()
    storage = None
    if mode in ("broker-dcr", "broker-cimd"):
        browser = ConsentingBrowser()
        storage = EmptyStorage()
        provider = OAuthClientProvider(
            server_url=url,
            client_metadata=OAuthClientMetadata(
                client_name="py-sdk-broker-test",
                redirect_uris=[REDIRECT],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=storage,
            redirect_handler=browser.open,
            callback_handler=browser.returned,
            client_metadata_url=arg if mode == "broker-cimd" else None,
        )
        http = httpx.AsyncClient(auth=provider, timeout=30)
    elif mode == "token":
        http = httpx.AsyncClient(headers={"Authorization": f"Bearer {arg}"}, timeout=30)
    elif mode == "oauth":
        storage = MemoryStorage(arg, initial_token)
        provider = OAuthClientProvider(
            server_url=url,
            client_metadata=OAuthClientMetadata(
                client_name="py-sdk-test", redirect_uris=[REDIRECT], token_endpoint_auth_method="none"
            ),
            storage=storage,
            redirect_handler=browser.open,
            callback_handler=browser.returned,
        )
        http = httpx.AsyncClient(auth=provider, timeout=30)
    else:
        raise SystemExit(f"unknown mode {mode}")
    async with http:
        async with streamable_http_client(url, http_client=http) as (read, write, session_id):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                listed = await session.list_tools()
                called = await session.call_tool("server_info", {})
                profile = await session.call_tool("get_my_profile", {})
                print(
                    json.dumps(
                        {
                            "serverInfo": init.serverInfo.model_dump(),
                            "protocolVersion": init.protocolVersion,
                            "sessionId": session_id(),
                            "tools": [tool.name for tool in listed.tools],
                            "call": called.model_dump(mode="json", exclude_none=True),
                            "profile": profile.model_dump(mode="json", exclude_none=True),
                            "authorizations": browser.authorizations,
                            "finalToken": storage.tokens.access_token if storage and storage.tokens else None,
                            "refreshToken": storage.tokens.refresh_token if storage and storage.tokens else None,
                            "clientId": storage.client.client_id if storage and storage.client else None,
                            "consentPages": getattr(browser, "consent_pages", 0),
                        }
                    )
                )


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0], args[1], args[2] if len(args) > 2 else "", args[3] if len(args) > 3 else None))
