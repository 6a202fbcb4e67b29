// Persistent node identity: an Ed25519 key kept in <dataDir>/peer-key (protobuf-marshalled,
// mode 0600), so a restarted node keeps its peer id and neighbours' routes stay valid.
import { mkdir, readFile, writeFile, rename, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { ConfigError } from '../../errors.ts';

export const PEER_KEY_FILE = 'peer-key';

export async function loadOrCreatePeerKey(dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, PEER_KEY_FILE);
  let bytes: Buffer | undefined;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`cannot read peer key ${path}: ${(e as Error).message}`);
  }
  if (bytes !== undefined) {
    try {
      return privateKeyFromProtobuf(bytes);
    } catch (e) {
      throw new ConfigError(`peer key ${path} is not a protobuf-marshalled private key: ${(e as Error).message}`);
    }
  }
  const key = await generateKeyPair('Ed25519');
  await mkdir(dataDir, { recursive: true });
  // Write to a temp file then rename, so a crash never leaves a half-written key.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return key;
}
