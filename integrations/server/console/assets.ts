/**
 * The console's page and scripts: plain files under the package's `console/` folder (no build
 * step, no CDN), read once and served with headers that make injected markup inert even if a
 * rendering bug let some through: a Content-Security-Policy allowing only this origin's own
 * scripts and styles (no inline script, no `eval`), `nosniff`, no framing, no referrer.
 */

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { HttpError } from '../http';

/** The folder of the console's files (`<package>/console`). */
export const ASSET_DIR = path.join(__dirname, '..', '..', '..', 'console');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Security headers of every console response. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** The console's static files, loaded at start. */
export class Assets {
  private readonly files = new Map<string, { type: string; body: Buffer }>();

  constructor(dir = ASSET_DIR) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      throw new HttpError('ERR_NOT_FOUND', `the console's files are missing (${dir}: ${(e as Error).message}); reinstall the package`);
    }
    for (const name of names) {
      const type = TYPES[path.extname(name)];
      if (type) this.files.set(name, { type, body: fs.readFileSync(path.join(dir, name)) });
    }
  }

  /** Serves `/` (the page) and `/console/<file>`; false when there is no such file. */
  serve(res: http.ServerResponse, pathname: string, method: string): boolean {
    const name = pathname === '/' ? 'index.html' : pathname.slice('/console/'.length);
    const file = name.includes('/') ? undefined : this.files.get(name);
    if (!file) return false;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': file.type,
      'Content-Length': file.body.length,
      'Cache-Control': 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : file.body);
    return true;
  }
}
