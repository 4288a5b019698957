// API process: `npm run api` (production, docker-compose). Only listens and closes gracefully.
import { ConfigError, loadConfig, transportWarnings } from '../infra/config';
import { createDb } from '../store/db';
import { createLogger } from '../infra/logger';
import { createMailer } from '../infra/mailer';
import { connectTemporal, prepareDatabase, startApi } from '../boot/api';
import { ensurePortsFree } from '../boot/ports';
import { runMain, runStops, stopOnSignals } from '../boot/process';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'api');
  for (const w of transportWarnings(config)) log.warn(w);
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required for a standalone API (npm start runs an embedded database)');
  if (!config.smtpUrl) throw new ConfigError('SMTP_URL is required for a standalone API: it mails verification links and approver-change notices');
  await ensurePortsFree([{ host: config.host, port: config.port, variable: 'PORT', what: 'the API' }]);
  const db = createDb(config.databaseUrl, config.databasePoolMax, { auditKeys: config.auditKeys });
  const { admin } = await prepareDatabase(db, config);
  if (admin.apiKey) process.stdout.write(`\nBootstrap admin API key (shown once, store it now): ${admin.apiKey}\n\n`);
  const { client, searchAttributes } = await connectTemporal(config);
  if (!searchAttributes) log.warn('custom search attributes are not registered; workflows run without them');
  const mailer = createMailer(config.smtpUrl, config.mailFrom);
  const api = await startApi({ config, db, client, searchAttributes, logger: log, mailer });
  stopOnSignals(() => runStops([() => api.stop(), () => client.connection.close(), () => db.destroy(), () => mailer.close()]));
});
