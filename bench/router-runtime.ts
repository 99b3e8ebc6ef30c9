// The data plane under benchmark, in its own process (forked by router.bench.ts): the same `Runtime` that
// `sluice start` embeds (router, revision processes, autoscaler), driven over the IPC channel, so the load
// generator (autocannon, in the parent) does not share the router's event loop. Status changes are pushed to
// the parent as they happen, so it can time scale-out and cold starts.
//
// argv: <dataDir>
import { Runtime } from '../src/runtime/runtime.js';
import type { RevisionSpec, RevisionStatus, RouteTable } from '../src/runtime/types.js';

export type RuntimeRequest =
  | { id: number; op: 'upsert'; spec: RevisionSpec }
  | { id: number; op: 'routes'; table: RouteTable }
  | { id: number; op: 'status'; namespace: string; name: string }
  | { id: number; op: 'cpu' }
  | { id: number; op: 'close' };

export type RuntimeMessage =
  | { type: 'ready'; url: string }
  | { type: 'status'; status: RevisionStatus }
  | { type: 'reply'; id: number; result: unknown; error?: string };

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: router-runtime.js <dataDir>');

// Knative's defaults (2 s autoscaler tick, 60 s stable window, 6 s panic window, 200 % panic threshold),
// except: a 1 s scale-to-zero grace period so an idle revision reaches zero within the run, and
// allow-zero-initial-scale so a revision can be created cold (`initial-scale: 0`) for cold-start samples.
const rt = new Runtime({ dataDir, autoscaler: { scaleToZeroGracePeriodMs: 1000, allowZeroInitialScale: true } });
const { url } = await rt.listen(0);

function send(m: RuntimeMessage): void {
  process.send?.(m);
}

rt.on('status', (status) => send({ type: 'status', status }));

process.on('message', (m: RuntimeRequest) => {
  try {
    switch (m.op) {
      case 'upsert':
        send({ type: 'reply', id: m.id, result: rt.upsertRevision(m.spec) });
        return;
      case 'routes':
        rt.setRoutes(m.table);
        send({ type: 'reply', id: m.id, result: null });
        return;
      case 'status':
        send({ type: 'reply', id: m.id, result: rt.revisionStatus(m.namespace, m.name) ?? null });
        return;
      case 'cpu': {
        const c = process.cpuUsage();
        send({ type: 'reply', id: m.id, result: c.user + c.system });
        return;
      }
      case 'close':
        void rt.close().then(() => {
          send({ type: 'reply', id: m.id, result: null });
          process.exit(0);
        });
        return;
    }
  } catch (e) {
    send({ type: 'reply', id: m.id, result: null, error: e instanceof Error ? e.message : String(e) });
  }
});
process.on('disconnect', () => void rt.close().then(() => process.exit(0)));
send({ type: 'ready', url });
