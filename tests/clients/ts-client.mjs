// Drives the official TypeScript MCP SDK client against the server under test and prints
// what it saw as one JSON line; the Rust test asserts on it.
//   node ts-client.mjs <mcp-url> [bearer-token]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token] = process.argv.slice(2);
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
const client = new Client({ name: "ts-sdk-test", version: "1.0.0" });

await client.connect(transport);
const listed = await client.listTools();
const called = await client.callTool({ name: "server_info", arguments: {} });
console.log(
  JSON.stringify({
    serverInfo: client.getServerVersion(),
    protocolVersion: transport.protocolVersion,
    sessionId: transport.sessionId ?? null,
    tools: listed.tools.map((tool) => tool.name),
    call: called,
  }),
);
await client.close();
