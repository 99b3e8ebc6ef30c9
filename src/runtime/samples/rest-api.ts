// The rest-api-go sample of the traffic-split tutorial: versions told apart by $RESOURCE.
import { createServer } from 'node:http';
import { serve } from './lifeline.js';

const resource = process.env['RESOURCE'] || 'NOT SPECIFIED';
const server = createServer((req, res) => {
  req.resume();
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  if (path === `/${resource}`) res.end(`${resource} ticker not found!, require /${resource}/{ticker}\n`);
  else if (path.startsWith(`/${resource}/`))
    res.end(`${resource} price for ticker ${path.slice(resource.length + 2)} is unknown (offline sample)\n`);
  else res.end(`Welcome to the ${resource} app! \n`);
});
serve(server, 'rest-api');
