// The AWS credentials a command needs, looked up once before anything runs. Without any, the AWS SDK's
// CredentialsProviderError ("Could not load credentials from any providers") would end the run from inside a
// Lambda with exit 1 and nothing said about what to set. The SDK keeps what it found for the client's requests.
import { ConfigurationError } from '../../src/transfer/errors.ts';

const AWS_CREDENTIALS_HINT =
  'set AWS_PROFILE (a profile of ~/.aws/config or ~/.aws/credentials), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
  '(with AWS_SESSION_TOKEN for temporary ones), or run where a role provides them (an EC2 instance profile, an ECS task ' +
  'role, SSO after `aws sso login`)';

/** An AWS SDK v3 client: its config resolves (and caches) the credentials of the default chain. */
interface AwsClient {
  config: { credentials: () => Promise<unknown> };
}

/** Resolves the client's credentials; none found is Transfer.ConfigurationError saying what to set (exit 2). */
export async function requireAwsCredentials(client: AwsClient, usedFor: string): Promise<void> {
  try {
    await client.config.credentials();
  } catch (err) {
    if ((err as { name?: unknown } | undefined)?.name !== 'CredentialsProviderError') throw err;
    throw new ConfigurationError(`No AWS credentials to ${usedFor}: ${AWS_CREDENTIALS_HINT}. (AWS SDK: ${(err as Error).message})`);
  }
}
