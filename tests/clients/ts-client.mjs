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
//   node ts-client.mjs broker-dcr <mcp-url>
//   node ts-client.mjs broker-cimd <mcp-url> <client-metadata-url>
//       against the server in broker mode: the SDK discovers this server as the authorization
//       server, registers dynamically (RFC 7591) or presents its Client ID Metadata Document
//       URL as client_id, and signs in. The "browser" keeps cookies, follows the redirects
//       through the server and the local Entra ID, and approves the consent page as a person
//       would (its form, its CSRF token).
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

/// A user agent for broker mode: cookies, redirects, and the consent form.
class ConsentingBrowser {
  constructor() { this.cookies = new Map(); }
  cookieHeader() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "); }
  remember(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at), value = pair.slice(at + 1);
      if (!value || /Max-Age=0/i.test(line)) this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }
  async request(url, init = {}) {
    const response = await fetch(url, { ...init, redirect: "manual", headers: { ...(init.headers ?? {}), cookie: this.cookieHeader() } });
    this.remember(response);
    return response;
  }
  // Follows redirects until the client's redirect URI; returns the code.
  async signIn(url) {
    let response = await this.request(url);
    for (let hops = 0; hops < 12; hops++) {
      const location = response.headers.get("location");
      if (location) {
        if (location.startsWith(REDIRECT)) return new URL(location);
        response = await this.request(new URL(location, url).toString());
        continue;
      }
      const page = await response.text();
      if (response.status !== 200 || !page.includes('name="decision"')) throw new Error(`sign-in stopped: ${response.status} ${page}`);
      const hidden = (name) => page.match(new RegExp(`name="${name}" value="([^"]*)"`))[1];
      const action = page.match(/<form method="post" action="([^"]*)"/)[1].replaceAll("&amp;", "&");
      this.consentPages = (this.consentPages ?? 0) + 1;
      response = await this.request(action, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ request: hidden("request"), csrf: hidden("csrf"), decision: "approve" }).toString(),
      });
    }
    throw new Error("too many redirects");
  }
}

/// A client that knows nothing but the MCP URL (and, for CIMD, its own metadata URL).
class BrokerProvider {
  constructor(metadataUrl) {
    this.clientMetadataUrl = metadataUrl;
    this.info = undefined;
    this.stored = undefined;
    this.authorizations = [];
    this.pendingCode = undefined;
    this.browser = new ConsentingBrowser();
  }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: "ts-sdk-broker-test", redirect_uris: [REDIRECT], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.stored; }
  saveTokens(tokens) { this.stored = tokens; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizations.push({
      scope: authorizationUrl.searchParams.get("scope"),
      resource: authorizationUrl.searchParams.get("resource"),
      clientId: authorizationUrl.searchParams.get("client_id"),
    });
    const back = await this.browser.signIn(authorizationUrl.toString());
    const code = back.searchParams.get("code");
    if (!code) throw new Error(`sign-in refused: ${back}`);
    this.pendingCode = code;
  }
}

let provider;
const options = {};
if (mode === "broker-dcr" || mode === "broker-cimd") {
  provider = new BrokerProvider(mode === "broker-cimd" ? arg : undefined);
  options.authProvider = provider;
} else if (mode === "token") {
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
    refreshToken: provider?.stored?.refresh_token ?? null,
    clientId: provider?.info?.client_id ?? null,
    consentPages: provider?.browser?.consentPages ?? 0,
  }),
);
await client.close();
