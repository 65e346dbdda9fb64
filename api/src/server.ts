/** Starts the API: validated config, listen, graceful shutdown on SIGTERM/SIGINT. */
import { buildApp } from './app';
import { ConfigError, loadConfig } from './config';

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`pacs-api: ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const app = await buildApp(config);
  if (config.jwtSecretGenerated) {
    app.log.warn('PACS_JWT_SECRET not set: using a random secret for this process (development only)');
  }
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ host: config.host, port: config.port });
  if (config.hl7.port !== null) await app.hl7.listen();
}

main().catch((error) => {
  console.error('pacs-api: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
