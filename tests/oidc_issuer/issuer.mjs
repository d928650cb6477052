// A real OpenID Connect issuer for the tests (node-oidc-provider, certified by the OpenID Foundation): discovery,
// authorization code with PKCE (S256, required), ID tokens signed with a fresh RS256 key, a login form where any
// name signs in (the provider's development interactions), and a "groups" claim per name (GROUPS below).
//   PORT=… CLIENT_ID=… CLIENT_SECRET=… REDIRECT_URI=… node issuer.mjs
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const GROUPS = { "ed.sso": ["rushes-editors", "news-desk"], "vi.sso": ["rushes-viewers"] };
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    post_logout_redirect_uris: [process.env.REDIRECT_URI.replace(/\/login\/sso\/callback$/, "/login")],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
    application_type: "native",  // lets the redirect go to http://127.0.0.1 (a loopback address)
  }],
  jwks: { keys: [privateKey.export({ format: "jwk" })].map((k) => ({ ...k, kid: "test", use: "sig", alg: "RS256" })) },
  pkce: { required: () => true, methods: ["S256"] },
  claims: { openid: ["sub"], profile: ["name", "preferred_username"], email: ["email"], groups: ["groups"] },
  conformIdTokenClaims: false,  // the ID token carries the claims asked for, groups included
  findAccount: async (ctx, id) => ({
    accountId: id,
    async claims() {
      return { sub: id, name: id, preferred_username: id, email: `${id}@example.org`, groups: GROUPS[id] || [] };
    },
  }),
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ["only-for-tests"] },
});
provider.proxy = false;
provider.listen(port, "127.0.0.1", () => console.log(`issuer ${issuer} ready`));
