// Shared by the sample servers: exit when the supervisor goes away, and shut down cleanly on SIGTERM.
// The supervisor keeps our stdin open as a pipe (SLUICE_LIFELINE=stdin); the pipe ends when it dies, even by
// SIGKILL, so no sample outlives it.
import type { Server } from 'node:http';

export function serve(server: Server, name: string): void {
  const port = Number(process.env['PORT'] ?? '8080');
  const host = process.env['SLUICE_BIND_HOST'] ?? '127.0.0.1';
  if (process.env['SLUICE_LIFELINE'] === 'stdin') {
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('error', () => process.exit(0));
    process.stdin.resume();
  }
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
  console.log(`${name}: starting server...`);
  server.listen(port, host, () => console.log(`${name}: listening on port ${port}`));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
