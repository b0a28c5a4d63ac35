// A local OpenID Connect provider standing in for Google in Kore's tests (npm oidc-provider).
// node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
// The login page accepts any login name (oidc-provider's development interactions); the
// account's email is that name, verified unless the name starts with "unverified".
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name"],
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          email_verified: !id.startsWith("unverified"),
          name: `Test ${id.split("@")[0]}`,
        };
      },
    };
  },
  cookies: { keys: ["kore-oidc-stand-in"] },
  features: { devInteractions: { enabled: true } },
});

provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`oidc stand-in listening at ${issuer}`);
});
