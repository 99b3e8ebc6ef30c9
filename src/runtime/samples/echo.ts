// A generic echo server for trying routes and for tests:
//   GET  /anything      → JSON: method, url, headers, revision env, pid
//   POST /anything      → streams the body back as it arrives
//   /status/CODE        → answers with that status
//   /sleep/MS           → answers after MS milliseconds
//   /crash              → the process exits (code $CRASH_EXIT_CODE, default 1) without answering
//   /healthz            → 503 while $READY_FILE is set and missing, else 200
//   Upgrade requests    → 101, then every byte is echoed (raw bytes, not WebSocket frames)
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { serve, sleep } from './lifeline.js';

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const status = /^\/status\/(\d{3})$/.exec(path);
  const delay = /^\/sleep\/(\d+)$/.exec(path);
  if (path === '/crash') {
    console.error(`echo: crashing on request as asked (exit ${process.env['CRASH_EXIT_CODE'] ?? '1'})`);
    process.exit(Number(process.env['CRASH_EXIT_CODE'] ?? '1'));
  }
  if (path === '/healthz') {
    req.resume();
    const readyFile = process.env['READY_FILE'];
    const ok = !readyFile || existsSync(readyFile);
    res.writeHead(ok ? 200 : 503).end(ok ? 'ok\n' : 'not ready\n');
    return;
  }
  if ((req.method === 'POST' || req.method === 'PUT') && !status) {
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
    req.pipe(res);
    return;
  }
  req.resume();
  void (async () => {
    if (delay) await sleep(Number(delay[1]));
    const code = status ? Number(status[1]) : 200;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        revision: process.env['K_REVISION'] ?? null,
        target: process.env['TARGET'] ?? null,
        pid: process.pid,
      }) + '\n',
    );
  })();
});
server.on('upgrade', (req, socket) => {
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers['upgrade'] ?? 'echo'}\r\nConnection: Upgrade\r\n\r\n`,
  );
  socket.pipe(socket);
});
serve(server, 'echo');
