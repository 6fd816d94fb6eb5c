"""Drives the official Python MCP SDK client (mcp<2) against `handler stdio`, which it starts
itself as MCP clients do, and prints what it saw as one JSON line; the Rust tests assert on it.

    python py_stdio_client.py <handler> [NAME=VALUE ...]
        starts `<handler> stdio` with the settings given (on top of the SDK's default
        environment), initializes, lists the tools and calls get_my_profile and list_events.
        The handler's stderr (its log and sign-in prompt) passes through to this script's.
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main(handler: str, settings: list[str]) -> None:
    env = dict(setting.split("=", 1) for setting in settings)
    server = StdioServerParameters(command=handler, args=["stdio"], env=env)
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            listed = await session.list_tools()
            profile = await session.call_tool("get_my_profile", {})
            events = await session.call_tool("list_events", {})
            print(
                json.dumps(
                    {
                        "serverInfo": init.serverInfo.model_dump(),
                        "protocolVersion": init.protocolVersion,
                        "tools": [tool.name for tool in listed.tools],
                        "profile": profile.model_dump(mode="json", exclude_none=True),
                        "events": events.model_dump(mode="json", exclude_none=True),
                    }
                )
            )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
