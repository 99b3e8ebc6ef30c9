// `sluice dashboard`: a fresh one-time login URL, minted with the key the controller keeps in its data
// directory, so it works without asking the server (and while the server restarts).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DashboardError, DashboardErrorCode, KEY_FILE, mintLoginToken, readKey } from '../dashboard/index.js';

export function dashboardUrl(o: { data: string; user: string; url?: string; now?: number }): string {
  const data = resolve(o.data);
  const key = readKey(data);
  if (!key)
    throw new DashboardError(
      DashboardErrorCode.NoServer,
      1,
      `no dashboard key at ${join(data, KEY_FILE)}: start Sluice first (\`sluice start --data ${o.data}\`) or pass the --data it uses`,
    );
  let base = o.url;
  if (!base) {
    try {
      base = (JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8')) as { controller?: string }).controller;
    } catch {
      base = undefined;
    }
  }
  if (!base)
    throw new DashboardError(
      DashboardErrorCode.NoServer,
      1,
      `no controller URL in ${join(data, 'endpoints.json')}: is Sluice running? Pass --url http://HOST:PORT otherwise`,
    );
  return `${base.replace(/\/$/, '')}/dashboard/?token=${mintLoginToken(key, o.user, o.now ?? Date.now())}`;
}
