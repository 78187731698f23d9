// Bundle-time stand-in for `@aws-sdk/credential-provider-node` (esbuild `alias`, see lambda/README.md).
// Lambda always hands the function its role's credentials in environment variables, so the default
// chain's SSO, INI, process, web-identity, IMDS and login providers (and the nested STS/SSO clients they
// pull in, ~110 KB minified) are dead weight in the bundle. The local twin sets the same variables.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime

/** Credentials as the SDK's identity providers return them. */
export interface EnvCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
  accountId?: string;
}

/** Same shape as credential-provider-node's `defaultProvider`: returns a provider reading the environment. */
export function defaultProvider(_init?: unknown): () => Promise<EnvCredentials> {
  return async () => {
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (the bundle reads credentials from the environment only)',
      );
    }
    const expiration = process.env.AWS_CREDENTIAL_EXPIRATION;
    return {
      accessKeyId,
      secretAccessKey,
      ...(process.env.AWS_SESSION_TOKEN ? { sessionToken: process.env.AWS_SESSION_TOKEN } : {}),
      ...(expiration ? { expiration: new Date(expiration) } : {}),
      ...(process.env.AWS_ACCOUNT_ID ? { accountId: process.env.AWS_ACCOUNT_ID } : {}),
    };
  };
}
