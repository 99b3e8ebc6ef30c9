// Runs a container's own command (anything that is not one of our samples) so that it cannot outlive Sluice:
// `node reaper.js CMD ARG…`. The supervisor starts us as the leader of a new process group and keeps our stdin
// open; when stdin ends (the supervisor died, even by SIGKILL) we kill the whole group. Our exit code or signal
// mirrors the command's, so the supervisor reports what the command did.
import { spawn } from 'node:child_process';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error('reaper: no command given');
  process.exit(2);
}

const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });

function killGroup(): void {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
    process.exit(137);
  }
}

process.stdin.on('end', killGroup);
process.stdin.on('error', killGroup);
process.stdin.resume();

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => child.kill(sig));
}

child.on('error', (e: NodeJS.ErrnoException) => {
  const why =
    e.code === 'ENOENT'
      ? 'executable file not found in $PATH or at that path'
      : e.code === 'EACCES'
        ? 'permission denied'
        : e.message;
  console.error(`exec: "${cmd}": ${why}`);
  process.exit(e.code === 'ENOENT' ? 127 : 126);
});

child.on('exit', (code, signal) => {
  if (signal) {
    // Re-raise so our parent sees the same signal the command died of.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
