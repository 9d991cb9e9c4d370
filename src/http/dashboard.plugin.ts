import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

export interface DashboardOptions {
  /** Directory served at `/`; the repository's `public/` by default. */
  readonly root?: string;
}

export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

/** uPlot (the history charts) as installed from the npm registry: served from node_modules, never a CDN. */
const UPLOT_DIST = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
const UPLOT_FILES = new Set(['/uPlot.esm.js', '/uPlot.min.css']);

/**
 * The control-room dashboard (`/`, `/index.html`), the student page (`/student.html`) and the
 * wall display (`/wall`, `/wall.html`, docs/websocket.md "Wall displays"): plain
 * ES modules and CSS from `public/`, no build step, nothing from a CDN. The pages talk to the
 * REST API and to `/ws/live` on the same origin, so the policy below allows nothing else.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

async function dashboardPlugin(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  await app.register(fastifyStatic, {
    root: options.root ?? PUBLIC_DIR,
    prefix: '/',
    // One route per file found at start-up: unknown paths fall through to the JSON 404
    // handler instead of a catch-all route, and no path is ever resolved against the disk.
    wildcard: false,
    // Another plugin (the OpenAPI UI) may register @fastify/static too; the pages need no sendFile.
    decorateReply: false,
    index: ['index.html'],
    cacheControl: true,
    maxAge: 0,
    setHeaders,
  });
  await app.register(fastifyStatic, {
    root: UPLOT_DIST,
    prefix: '/vendor/uplot/',
    wildcard: false,
    decorateReply: false,
    // The module and its stylesheet only: not the package's other builds or typings.
    allowedPath: (path) => UPLOT_FILES.has(path),
    cacheControl: true,
    maxAge: 0,
    setHeaders,
  });
  // The address an admin puts on a screen: /wall#token=... (the fragment survives the redirect
  // and never reaches the server or its logs).
  app.get('/wall', { schema: { hide: true } }, (request, reply) => {
    const query = request.url.indexOf('?');
    return reply.redirect(`/wall.html${query === -1 ? '' : request.url.slice(query)}`, 302);
  });
}

function setHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
}

export default fp(dashboardPlugin, { name: 'dashboard' });
