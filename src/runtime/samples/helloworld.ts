// Knative's helloworld sample: `Hello ${TARGET}!` on every path, TARGET defaulting to World.
import { createServer } from 'node:http';
import { serve } from './lifeline.js';

const target = process.env['TARGET'] || 'World';
// The Rust sample of the seeds' era printed a different greeting without a newline.
const body = process.env['SLUICE_HELLO_STYLE'] === 'rust' ? `Hello world: ${target}` : `Hello ${target}!\n`;

const server = createServer((req, res) => {
  console.log('helloworld: received a request');
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
});
serve(server, 'helloworld');
