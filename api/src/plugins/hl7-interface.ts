/**
 * The HL7 v2 interface: inbound messages (orders, patient administration) handled and answered, the
 * modality worklist folder kept equal to the scheduled orders,
 * and the MLLP listener that carries them, created here and started by server.ts (as the HTTP
 * port is) when PACS_HL7_PORT is set, so building the app opens no port. Connection refusals
 * (sender not allowed, framing faults, silence) are audited, repeats folded per window.
 */
import { parseAddressList } from '@pacs/server-kit/address-list';
import fp from 'fastify-plugin';
import { RefusalFolder } from '../audit/refusal-folder';
import { type InboundHandlers, InboundMessages } from '../hl7/inbound';
import { MllpListener } from '../hl7/mllp-listener';
import { ModalityWorklistFolder } from '../orders/modality-worklist';
import { OrderBook } from '../orders/order-book';
import { readOrderMessage } from '../orders/order-message';
import { applyPatientMerge, applyPatientUpdate } from '../patients/adt';
import { changeSequenceOf } from '../worklist/change-feed';

export interface Hl7Interface {
  inbound: InboundMessages;
  /** The modality worklist folder, when PACS_MWL_DIR is set. */
  worklist: ModalityWorklistFolder | null;
  /** Starts the MLLP listener on the configured port (0: any free port); resolves with the port. */
  listen(): Promise<number>;
  /** Open MLLP connections (0 before listen). */
  readonly connections: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    hl7: Hl7Interface;
  }
}

export default fp(
  async (app) => {
    const { config } = app;
    const { models } = app.db;
    const orders = new OrderBook(models, { patientsFromOrders: config.hl7.patientsFromOrders });
    const applyOrder: InboundHandlers[string] = {
      eventId: 'OrderRecord',
      async apply(message, header, transaction) {
        const reading = readOrderMessage(message, header);
        if (!reading.ok) return { ok: false, errorCode: reading.errorCode, reason: reading.reason };
        const result = await orders.apply(reading, transaction);
        if (!result.ok) return result;
        return {
          ok: true,
          patientId: result.patientId,
          studyUid: result.orders.length === 1 ? (result.orders[0]!.studyUid ?? undefined) : undefined,
          details: {
            orders: result.orders.map(({ placerOrderNumber, accessionNumber, action }) => ({ placerOrderNumber, accessionNumber, action })),
          },
        };
      },
    };
    const updatePatient: InboundHandlers[string] = {
      eventId: 'PatientRecord',
      apply: (message, _h, tx) => applyPatientUpdate(models, message, tx),
    };
    const handlers: InboundHandlers = {
      'ORM^O01': applyOrder,
      'OMI^O23': applyOrder,
      'ADT^A04': updatePatient,
      'ADT^A08': updatePatient,
      'ADT^A28': updatePatient,
      'ADT^A31': updatePatient,
      'ADT^A40': { eventId: 'PatientRecord', apply: (message, _h, tx) => applyPatientMerge(models, message, tx) },
    };
    const log = app.log.child({ component: 'hl7' });
    const inbound = new InboundMessages(
      models,
      app.audit,
      handlers,
      { responder: { application: config.hl7.application, facility: config.hl7.facility }, fallbackCharset: config.hl7.fallbackCharset },
      log,
    );
    // The modality worklist follows every committed change to the worklist, and every order message.
    const worklist = config.hl7.worklistDir ? new ModalityWorklistFolder(models, config.hl7.worklistDir, log) : null;
    if (worklist) {
      const unsubscribe = changeSequenceOf(models).onAdvance(() => worklist.schedule());
      app.addHook('onReady', async () => {
        await worklist.sync();
      });
      app.addHook('onClose', async () => {
        unsubscribe();
        await worklist.stop();
      });
    }
    const refusals = new RefusalFolder(app.audit, config.auditFoldSeconds * 1000, log);
    let listener: MllpListener | null = null;
    app.decorate('hl7', {
      inbound,
      worklist,
      get connections() {
        return listener?.connections ?? 0;
      },
      async listen() {
        if (listener) throw new Error('the HL7 listener is already started');
        listener = new MllpListener(
          {
            host: config.hl7.host,
            port: config.hl7.port ?? 0,
            maxMessageBytes: config.hl7.maxMessageBytes,
            idleTimeoutMs: config.hl7.idleTimeoutMs,
            allowedSenders: parseAddressList(config.hl7.allowedSenders),
            maxConnections: config.hl7.maxConnections,
          },
          {
            async message(frame, peer) {
              const answer = await inbound.handle(frame, peer);
              worklist?.schedule();
              return answer;
            },
            refused(peer, refusal) {
              log.warn({ peer, refusal }, 'hl7 connection refused');
              void refusals.record({
                eventId: 'SecurityAlert',
                action: 'E',
                outcome: 4,
                networkAddress: peer,
                objectType: 'HL7Connection',
                details: { refusal },
              });
            },
          },
        );
        const port = await listener.start();
        log.info({ port, host: config.hl7.host }, 'hl7 listener started');
        return port;
      },
    });
    app.addHook('onClose', async () => {
      await listener?.stop();
      await refusals.flush();
    });
  },
  { name: 'hl7-interface', dependencies: ['database'] },
);
