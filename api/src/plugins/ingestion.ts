/**
 * Ingestion from Orthanc: the REST client, the ingestor, the reconciler (started when the app is
 * ready, stopped on close), Orthanc's readiness check, and the study metadata cache of the DICOMweb
 * proxy (warmed as studies are ingested). Absent when PACS_ORTHANC_URL is unset.
 */
import fp from 'fastify-plugin';
import { StudyMetadataCache } from '../dicomweb/metadata-cache';
import { Ingestor } from '../ingest/ingest';
import { OrthancClient } from '../ingest/orthanc-client';
import { Reconciler } from '../ingest/reconciler';

export interface Ingestion {
  orthanc: OrthancClient;
  ingestor: Ingestor;
  reconciler: Reconciler;
  metadataCache: StudyMetadataCache;
}

declare module 'fastify' {
  interface FastifyInstance {
    ingestion: Ingestion | null;
  }
}

export default fp(
  async (app) => {
    const { config } = app;
    if (!config.orthancUrl) {
      app.decorate('ingestion', null);
      app.readinessChecks.push({ name: 'orthanc', essential: false, run: async () => ({ status: 'degraded', message: 'not configured' }) });
      return;
    }
    const orthanc = new OrthancClient(config.orthancUrl, config.orthancUser, config.orthancPassword);
    const log = app.log.child({ component: 'ingest' });
    const ingestor = new Ingestor(app.db.models, orthanc, app.audit, log);
    const reconciler = new Reconciler(app.db.models, orthanc, ingestor, app.audit, log, config.reconcileIntervalSeconds * 1000);
    const metadataCache = new StudyMetadataCache(
      orthanc,
      config.metadataCacheBytes,
      app.log.child({ component: 'dicomweb' }),
      config.publicUrl,
    );
    ingestor.onIngested(({ studyUid, orthancStudyId }) => metadataCache.warm(studyUid, orthancStudyId));
    app.decorate('ingestion', { orthanc, ingestor, reconciler, metadataCache });
    app.readinessChecks.push({
      name: 'orthanc',
      // The worklist keeps serving without Orthanc: its absence degrades, it does not stop, the API.
      essential: false,
      run: async () => {
        await orthanc.system();
        return { status: 'ok' };
      },
    });
    if (config.reconcileIntervalSeconds > 0) app.addHook('onReady', async () => reconciler.start());
    app.addHook('onClose', async () => reconciler.stop());
  },
  { name: 'ingestion', dependencies: ['database', 'health'] },
);
