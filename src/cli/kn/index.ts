// src/cli/kn: the kn-compatible commands (`sluice service|revision|route ...`): kn's flags, columns,
// describe layouts, progress lines and error texts. Pure parts: traffic.ts (traffic flags → spec.traffic),
// edit.ts (edit flags → Service), podspec.ts (--env-from, --mount/--volume, probes → pod spec),
// service-file.ts (`create -f` file → Service), export.ts (`service export` objects), format.ts (tables,
// layouts, ages), tabwriter.ts (Go's column alignment). Commands (service.ts, revision.ts, route.ts) talk
// to the API through src/kube.
import { Command, CommanderError } from 'commander';
import { processIo, type KnIo } from './context.js';
import { revisionCommand } from './revision.js';
import { routeCommand } from './route.js';
import { serviceCommand } from './service.js';
import { eventingCommands } from './eventing.js';

export type { KnIo } from './context.js';
export { computeTraffic, verifyTraffic, splitSlice } from './traffic.js';

/** Adds `service`, `revision` and `route` to the `sluice` program. */
export function registerKnCommands(program: Command, io: KnIo = processIo()): void {
  program.addCommand(serviceCommand(io));
  program.addCommand(revisionCommand(io));
  program.addCommand(routeCommand(io));
  for (const c of eventingCommands(io)) program.addCommand(c);
}

function forEachCommand(cmd: Command, f: (c: Command) => void): void {
  f(cmd);
  for (const c of cmd.commands) forEachCommand(c, f);
}

/**
 * Runs `sluice <args>` for the kn commands in-process, with output captured through `io`; returns the
 * exit code. For tests and embedding; the real binary goes through main.ts.
 */
export async function runKn(args: string[], io: KnIo): Promise<number> {
  let code = 0;
  const program = new Command('sluice');
  registerKnCommands(program, {
    ...io,
    setExitCode: (c) => {
      code = c;
      io.setExitCode(c);
    },
  });
  forEachCommand(program, (c) => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    io.err(`Error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  return code;
}
