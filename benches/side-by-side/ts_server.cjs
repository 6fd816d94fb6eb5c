// The official TypeScript MCP SDK, stateless with JSON responses (a server and transport per
// request, as the SDK's stateless example does), doing what the side-by-side benchmark asks of
// every server: validate the caller's RS256 token against the local issuer (signature, exp/nbf,
// iss, aud, the required scope) with jose, and answer a tool that returns the caller's oid,
// tid and scopes.
//
// Started by benches/side_by_side.rs with NODE_PATH pointing at tests/clients/node_modules;
// configured through the environment: BENCH_PORT, BENCH_ISSUER (the v2 issuer URL, whose
// OpenID metadata names the JWKS), BENCH_AUDIENCES (comma-separated), BENCH_SCOPE.
//
// The signing keys are fetched lazily, on the first token, as the Rust server does.
"use strict";

const express = require("express");
const { McpServer } = require("@modelcontextprotocol/sdk/server/mcp.js");
const { StreamableHTTPServerTransport } = require("@modelcontextprotocol/sdk/server/streamableHttp.js");
const { requireBearerAuth } = require("@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js");
const { InvalidTokenError } = require("@modelcontextprotocol/sdk/server/auth/errors.js");
const { createRemoteJWKSet, jwtVerify } = require("jose");

const port = Number(process.env.BENCH_PORT);
const issuer = process.env.BENCH_ISSUER;
const audiences = process.env.BENCH_AUDIENCES.split(",");
const scope = process.env.BENCH_SCOPE;

let keySet = null;
async function keys() {
  if (keySet === null) {
    const metadata = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
    keySet = createRemoteJWKSet(new URL(metadata.jwks_uri));
  }
  return keySet;
}

const verifier = {
  async verifyAccessToken(token) {
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, await keys(), {
        algorithms: ["RS256"],
        issuer,
        audience: audiences,
        clockTolerance: 60,
        requiredClaims: ["exp", "nbf", "iss", "aud"],
      }));
    } catch (error) {
      throw new InvalidTokenError("invalid token");
    }
    if (typeof claims.tid !== "string" || typeof claims.oid !== "string") {
      throw new InvalidTokenError("invalid token");
    }
    return {
      token,
      clientId: String(claims.azp ?? ""),
      scopes: String(claims.scp ?? "").split(" ").filter(Boolean),
      expiresAt: claims.exp,
      extra: { tid: claims.tid, oid: claims.oid },
    };
  },
};

function buildServer() {
  const server = new McpServer({ name: "bench-typescript", version: "1.0.0" });
  server.registerTool(
    "server_info",
    { description: "Who is calling: the caller's tenant, object id and scopes." },
    async (extra) => {
      const auth = extra.authInfo;
      const info = {
        name: "bench-typescript",
        tid: auth.extra.tid,
        oid: auth.extra.oid,
        scopes: auth.scopes,
      };
      return { content: [{ type: "text", text: JSON.stringify(info) }], structuredContent: info };
    },
  );
  return server;
}

const app = express();
app.use(express.json());
app.post("/mcp", requireBearerAuth({ verifier, requiredScopes: [scope] }), async (req, res) => {
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  res.on("close", () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
app.listen(port, "127.0.0.1");
