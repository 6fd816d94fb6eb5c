// Drives the official TypeScript MCP SDK client against the server under test and prints what
// it saw as one JSON line; the Rust tests assert on it.
//
//   node ts-client.mjs token <mcp-url> <bearer-token>
//       a client that already holds a token
//   node ts-client.mjs oauth <mcp-url> <client-id> [<initial-token>]
//       a client that starts with no token (or with <initial-token>) and signs in the way the
//       SDK does: 401 → protected-resource metadata → authorization-server metadata →
//       authorization code with PKCE → token → retry; a 403 insufficient_scope steps up once.
//       The "browser" is a fetch that reads the authorization redirect; the local issuer signs
//       the user in without a page.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [mode, url, arg, initialToken] = process.argv.slice(2);
const REDIRECT = "http://127.0.0.1:33418/callback";

class SignInProvider {
  constructor(clientId, initialToken) {
    this.clientId = clientId;
    this.stored = initialToken ? { access_token: initialToken, token_type: "Bearer" } : undefined;
    this.authorizations = [];
    this.pendingCode = undefined;
  }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: "ts-sdk-test", redirect_uris: [REDIRECT], grant_types: ["authorization_code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() { return { client_id: this.clientId }; }
  tokens() { return this.stored; }
  saveTokens(tokens) { this.stored = tokens; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizations.push({
      scope: authorizationUrl.searchParams.get("scope"),
      resource: authorizationUrl.searchParams.get("resource"),
    });
    const answer = await fetch(authorizationUrl, { redirect: "manual" });
    const location = answer.headers.get("location");
    if (!location) throw new Error(`sign-in failed: ${answer.status} ${await answer.text()}`);
    const code = new URL(location).searchParams.get("code");
    if (!code) throw new Error(`sign-in refused: ${location}`);
    this.pendingCode = code;
  }
}

let provider;
const options = {};
if (mode === "token") {
  options.requestInit = { headers: { Authorization: `Bearer ${arg}` } };
} else if (mode === "oauth") {
  provider = new SignInProvider(arg, initialToken);
  options.authProvider = provider;
} else {
  throw new Error(`unknown mode ${mode}`);
}

let transport = new StreamableHTTPClientTransport(new URL(url), options);
const client = new Client({ name: "ts-sdk-test", version: "1.0.0" });

// The SDK signals "the user must sign in" with UnauthorizedError; finish the sign-in and retry.
async function signedIn(step) {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof UnauthorizedError) || !provider?.pendingCode) throw error;
    const code = provider.pendingCode;
    provider.pendingCode = undefined;
    await transport.finishAuth(code);
    return await step();
  }
}

await signedIn(async () => {
  try {
    await client.connect(transport);
  } catch (error) {
    // A transport whose first connect failed cannot be started again.
    transport = new StreamableHTTPClientTransport(new URL(url), options);
    throw error;
  }
});
const listed = await signedIn(() => client.listTools());
const called = await signedIn(() => client.callTool({ name: "server_info", arguments: {} }));
const profile = await signedIn(() => client.callTool({ name: "get_my_profile", arguments: {} }));
console.log(
  JSON.stringify({
    serverInfo: client.getServerVersion(),
    protocolVersion: transport.protocolVersion,
    sessionId: transport.sessionId ?? null,
    tools: listed.tools.map((tool) => tool.name),
    call: called,
    profile,
    authorizations: provider?.authorizations ?? [],
    finalToken: provider?.stored?.access_token ?? null,
  }),
);
await client.close();
