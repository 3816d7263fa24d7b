// A real OpenID provider on 127.0.0.1 for the single sign-on tests (npm `oidc-provider`).
//
// Usage: node provider.mjs CONFIG.json, where CONFIG.json holds
//   {"port": N, "redirect_uri": "...", "post_logout_redirect_uri": "...",
//    "client_secret": "...", "jwks": {"keys": [<public JWK of the private_key_jwt client>]}}
//
// Two clients: `skjemamottak-secret` (client_secret_basic) and `skjemamottak-jwt`
// (private_key_jwt, RS256). Any `sub` is an account. Logging in needs no browser: the login page
// is a form with one field, `sub`, posted to /interaction/UID/login; consent is granted at once
// (loadExistingGrant), as for a first-party client.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${cfg.port}`;

const common = {
  redirect_uris: [cfg.redirect_uri],
  post_logout_redirect_uris: [cfg.post_logout_redirect_uri],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  id_token_signed_response_alg: 'RS256',
};

const provider = new Provider(issuer, {
  clients: [
    {
      ...common,
      client_id: 'skjemamottak-secret',
      client_secret: cfg.client_secret,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      ...common,
      client_id: 'skjemamottak-jwt',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      jwks: cfg.jwks,
    },
  ],
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile');
    await grant.save();
    return grant;
  },
});

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET' && !match[2]) {
    ctx.type = 'html';
    ctx.body = `<form method="post" action="/interaction/${details.uid}/login">`
      + '<input name="sub"><button>Logg inn</button></form>';
    return undefined;
  }
  if (ctx.method === 'POST' && match[2]) {
    const sub = (await formBody(ctx.req)).get('sub');
    const result = sub
      ? { login: { accountId: sub } }
      : { error: 'access_denied', error_description: 'no sub' };
    const to = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.redirect(to);
    ctx.status = 303;
    return undefined;
  }
  return next();
});

provider.listen(cfg.port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});
