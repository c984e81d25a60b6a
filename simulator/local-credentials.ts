/**
 * The credentials of the embedded default: what local SDK clients sign with, and the one IAM user the local
 * API gateway accepts. Kept apart from embedded.ts so that the CLI's
 * launcher in this repository (bin/mqdr.js) can pass them without loading the simulator; the published CLI has none.
 */
import type { LocalUser } from './api-gateway.ts';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Who may call the local API gateway, by access key id. */
export const LOCAL_USERS: Record<string, LocalUser> = {
  [LOCAL_CREDENTIALS.accessKeyId]: {
    secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey,
    userArn: 'arn:aws:iam::123456789012:user/local-operator',
  },
};
