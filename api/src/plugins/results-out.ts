/**
 * Results out: the outbox the signing transaction writes into, and the dispatcher that delivers it
 * (started when the app is ready, stopped on close) to each HL7 receiver named in
 * PACS_HL7_RESULT_DESTINATIONS, with PACS_ARCHIVE_SIGNED_REPORTS and Orthanc to the archive, and with
 * PACS_SMTP_URL to the mail server (notifications).
 */
import fp from 'fastify-plugin';
import { KeyImageThumbnails } from '../measurements/pdf-key-images';
import { PdfExport } from '../reports/pdf-export';
import { createReportStore } from '../reports/report-store';
import { SyncClient } from '../reports/sync-client';
import { ArchiveDestination } from '../results/archive-destination';
import type { Destination } from '../results/destinations';
import { MailDestination } from '../results/mail-destination';
import { MllpDestination } from '../results/mllp-destination';
import { ResultDispatcher } from '../results/result-dispatcher';
import { ResultOutbox } from '../results/result-outbox';

export interface ResultsOut {
  outbox: ResultOutbox;
  dispatcher: ResultDispatcher;
}

declare module 'fastify' {
  interface FastifyInstance {
    results: ResultsOut;
  }
}

export default fp(
  async (app) => {
    const { config } = app;
    const settings = config.hl7.results;
    const archive = settings.archive && app.ingestion !== null;
    const outbox = new ResultOutbox(app.db.models, {
      destinations: settings.destinations,
      archive,
      preliminary: settings.preliminary,
      mail: config.mail.smtpUrl !== undefined,
      sender: { application: config.hl7.application, facility: config.hl7.facility },
    });
    const destinations: Destination[] = settings.destinations.map((target) => new MllpDestination(target, settings.ackTimeoutMs));
    if (archive && app.ingestion) {
      // Only signed (stored) content is archived: the sync-server is never asked for a live document.
      const pdfExport = new PdfExport(
        config,
        createReportStore(app.db),
        new SyncClient(config.syncUrl, config.syncServiceToken, config.syncTimeoutMs),
        app.reportKeys,
        new KeyImageThumbnails(app.db.models, app.ingestion.orthanc),
      );
      destinations.push(new ArchiveDestination(app.db.models, pdfExport, app.ingestion.orthanc, config.institutionName, app.reportKeys));
    }
    if (config.mail.smtpUrl) {
      destinations.push(
        new MailDestination(config.mail.smtpUrl, config.mail.from, {
          requireTls: config.mail.requireTls,
          timeoutMs: settings.ackTimeoutMs,
        }),
      );
    }
    const dispatcher = new ResultDispatcher(
      destinations,
      app.db.models,
      app.audit,
      {
        ackTimeoutMs: settings.ackTimeoutMs,
        maxAttempts: settings.maxAttempts,
        retryBaseMs: 1000,
        retryMaxMs: settings.retryMaxMs,
        intervalMs: 5000,
      },
      app.log.child({ component: 'results' }),
    );
    outbox.onEnqueued = () => dispatcher.kick();
    app.decorate('results', { outbox, dispatcher });
    if (outbox.delivering) app.addHook('onReady', async () => dispatcher.start());
    app.addHook('onClose', async () => dispatcher.stop());
  },
  { name: 'results-out', dependencies: ['database', 'ingestion', 'report-signing'] },
);
