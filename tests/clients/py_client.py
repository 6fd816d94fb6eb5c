"""Drives the official Python MCP SDK client (mcp<2) against the server under test and prints
what it saw as one JSON line; the Rust test asserts on it.

    python py_client.py <mcp-url> [bearer-token]
"""

import asyncio
import json
import sys

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(url: str, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, session_id):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                listed = await session.list_tools()
                called = await session.call_tool("server_info", {})
                print(
                    json.dumps(
                        {
                            "serverInfo": init.serverInfo.model_dump(),
                            "protocolVersion": init.protocolVersion,
                            "sessionId": session_id(),
                            "tools": [tool.name for tool in listed.tools],
                            "call": called.model_dump(mode="json", exclude_none=True),
                        }
                    )
                )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
