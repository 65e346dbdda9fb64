/** The devices users sign in from (auth/devices/), shared by the sign-in, the refresh and the device routes. */
import fp from 'fastify-plugin';
import { DeviceRegistry } from '../auth/devices/device-registry';

declare module 'fastify' {
  interface FastifyInstance {
    devices: DeviceRegistry;
  }
}

export default fp(
  async (app) => {
    app.decorate('devices', new DeviceRegistry(app.db.models));
  },
  { name: 'devices', dependencies: ['database'] },
);
