// The Plexus version, from package.json (read once; no build step stamps it).
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };

export const PLEXUS_VERSION: string = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
