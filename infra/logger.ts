// Structured logs with secrets redacted: tokens travel in link paths and bodies, passwords and
// API keys in bodies and headers. Nothing here is ever logged in the clear.
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.token',
  '*.newPassword',
  '*.password',
  '*.apiKey',
  '*.answers',
  '*.credential',
  '*.secret',
  '*.clientSecret',
];

export function createLogger(level: string, name = 'recovery', destination?: { write(line: string): void }): Logger {
  const options = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      // Fastify's request serializer logs the raw URL; ours drops link tokens and query strings.
      req: (req: { method?: string; url?: string; ip?: string }) => ({ method: req.method, url: redactUrl(String(req.url ?? '').split('?')[0]) }),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Link tokens are path segments or fragments; keep the route, drop the secret. */
export function redactUrl(url: string): string {
  return url.replace(/(\/v1\/links\/)(?!redeem\b|cancel\b)[^/?#]+/, '$1[redacted]');
}
