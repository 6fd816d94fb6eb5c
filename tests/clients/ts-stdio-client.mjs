// Drives the official TypeScript MCP SDK client against `handler stdio`, which it starts itself
// as MCP clients do (StdioClientTransport), and prints what it saw as one JSON line; the Rust
// tests assert on it.
//
//   node ts-stdio-client.mjs <handler> [NAME=VALUE ...]
//       starts `<handler> stdio` with the settings given (on top of the SDK's default
//       environment), initializes, lists the tools and calls get_my_profile and list_events.
//       The handler's stderr (its log and sign-in prompt) passes through to this script's.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [handler, ...settings] = process.argv.slice(2);
const env = Object.fromEntries(settings.map((setting) => {
  const at = setting.indexOf("=");
  return [setting.slice(0, at), setting.slice(at + 1)];
}));

const transport = new StdioClientTransport({ command: handler, args: ["stdio"], env, stderr: "inherit" });
const client = new Client({ name: "ts-sdk-stdio-test", version: "1.0.0" });
await client.connect(transport);
const listed = await client.listTools();
const profile = await client.callTool({ name: "get_my_profile", arguments: {} });
const events = await client.callTool({ name: "list_events", arguments: {} });
console.log(
  JSON.stringify({
    serverInfo: client.getServerVersion(),
    tools: listed.tools.map((tool) => tool.name),
    profile,
    events,
  }),
);
await client.close();
