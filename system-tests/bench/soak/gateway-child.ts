/**
 * The gateway in a process of its own, as `npm start` runs it in its own process, so the load
 * generator neither shares its event loop nor hides its memory. Argument: the options as JSON.
 */
import { startGateway } from '../../../scripts/gateway.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const server = await startGateway({ ...options, log: (line: string) => process.stderr.write(`[gateway] ${line}\n`) });
process.send?.({ type: 'ready' });
// Clients' idle keep-alive connections would hold close() open: end them all at once.
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
