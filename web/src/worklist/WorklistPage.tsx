/**
 * The worklist: by default what this device holds (the user's scope: assignments, follows, recent
 * openings, new arrivals, priors; shared/src/device-scope.ts), searched and filtered on the device,
 * offline too. Online, "All studies" searches the whole archive on the server for anything else;
 * its results stay in memory, and a study opened from them joins the device.
 */
import type { Role } from '@pacs/shared';
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { WorklistStudy } from '../api/types';
import { session } from '../auth/session';
import { useOfflineRead } from '../device/use-offline-read';
import { useWorklist, useWorkspace } from '../device/workspace';
import { useReportDownloadStatus } from '../report/download-status';
import { BreakGlassDialog } from './BreakGlassDialog';
import { applyFilterOnce, DEFAULT_FILTER, modalitiesOf, SERVER_QUERY_MAX, type WorklistFilter } from './filter';
import { describeDeviceScope, reportsOnDevice } from './held-on-device';
import { StudyDetailPanel } from './StudyDetail';
import { useServerSearch } from './server-search';
import { WorklistFilters } from './WorklistFilters';
import { WorklistTable } from './WorklistTable';

export { formatStudyDate } from './WorklistTable';

const FILTER_KEY = 'pacs.worklistFilter';
const SOURCE_KEY = 'pacs.worklistSource';
/** Modalities offered for a search of the archive besides those on the device. */
const COMMON_MODALITIES = ['CR', 'CT', 'DX', 'MG', 'MR', 'NM', 'PT', 'RF', 'US', 'XA'];
/** The search text may be a name or an MRN: it stays in this page's memory, never in the browser's storage. */
let searchInMemory = '';

type Source = 'device' | 'server';

function loadFilter(): WorklistFilter {
  try {
    const stored = JSON.parse(sessionStorage.getItem(FILTER_KEY) ?? '{}') as Partial<WorklistFilter>;
    return { ...DEFAULT_FILTER, ...stored, q: searchInMemory };
  } catch {
    return { ...DEFAULT_FILTER, q: searchInMemory };
  }
}

function storeFilter(filter: WorklistFilter): void {
  searchInMemory = filter.q;
  const { q: _inMemory, ...rest } = filter;
  sessionStorage.setItem(FILTER_KEY, JSON.stringify(rest));
}

/** Admins hold only what they follow or opened: they start on the archive. */
function loadSource(role: Role): Source {
  const stored = sessionStorage.getItem(SOURCE_KEY);
  if (stored === 'device' || stored === 'server') return stored;
  return role === 'admin' ? 'server' : 'device';
}

export function WorklistPage() {
  const { user, engine, worklist } = useWorkspace();
  const { rows, byId, loaded, pendingByStudy, highlighted } = useWorklist();
  const online = useSyncExternalStore(session.subscribe, session.get, session.get).mode === 'online';
  const reports = useReportDownloadStatus();
  const [filter, setFilter] = useState<WorklistFilter>(loadFilter);
  const [chosen, setChosen] = useState<Source>(() => loadSource(user.role as Role));
  const source: Source = online ? chosen : 'device';
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [detailOpen, setDetailOpen] = useState(false);
  const [breakingGlass, setBreakingGlass] = useState<WorklistStudy | null>(null);
  const search = useRef<HTMLInputElement>(null);
  const server = useServerSearch(filter, source === 'server');

  useEffect(() => storeFilter(filter), [filter]);
  useEffect(() => sessionStorage.setItem(SOURCE_KEY, chosen), [chosen]);
  useOfflineRead(loaded ? { event: 'worklist-open' } : null);
  const onDevice = useMemo(() => applyFilterOnce(rows, filter, user.id), [rows, filter, user.id]);
  // A result the device holds shows as the device has it (with the user's pending changes).
  const fromServer = useMemo(() => server.rows.map((row) => byId.get(row.id) ?? row), [server.rows, byId]);
  const shown = source === 'server' ? fromServer : onDevice;
  const modalities = useMemo(
    () => (source === 'server' ? [...new Set([...modalitiesOf(rows), ...COMMON_MODALITIES])].sort() : modalitiesOf(rows)),
    [rows, source],
  );
  const selected = selectedId ? shown.find((r) => r.id === selectedId) : undefined;

  const count = !loaded
    ? 'Loading…'
    : source === 'device'
      ? `${onDevice.length} of ${rows.length} studies`
      : server.total === null
        ? 'Searching…'
        : `${server.rows.length} of ${server.total} studies in the archive`;

  return (
    <section className="page worklist-page" aria-labelledby="worklist-title">
      <div className="page-head">
        <h1 id="worklist-title">Worklist</h1>
        <fieldset className="segmented" aria-label="Studies to show">
          <SourceButton value="device" chosen={source} onChoose={setChosen} label="On this device" />
          <SourceButton
            value="server"
            chosen={source}
            onChoose={setChosen}
            label="All studies"
            disabled={!online}
            title={online ? 'Search the whole archive on the server' : 'Searching the whole archive needs the network'}
          />
        </fieldset>
        <output className="muted" data-testid="worklist-count" aria-live="polite">
          {count}
        </output>
      </div>
      <p className="muted small" data-testid="device-scope">
        {source === 'device'
          ? `${describeDeviceScope(user.role as Role)}${online ? ' Choose “All studies” to search the archive for anything else.' : ' Offline: only these can be opened.'}`
          : 'Searching the whole archive on the server. Results are not kept on this device; a study you open or follow joins it.'}
        {source === 'device' && reports.held > 0 && <span data-testid="device-reports"> {reportsOnDevice(reports)}</span>}
      </p>
      <WorklistFilters
        filter={filter}
        onChange={setFilter}
        modalities={modalities}
        searchLimit={source === 'server' ? SERVER_QUERY_MAX : null}
        search={search}
      />

      <div className={`worklist-layout${detailOpen && selected ? ' with-detail' : ''}`}>
        <WorklistTable
          rows={shown}
          user={user}
          engine={engine}
          selectedId={selectedId}
          onSelect={setSelectedId}
          onOpen={(row) => {
            setSelectedId(row.id);
            setDetailOpen(true);
            worklist.acknowledge(row.id);
          }}
          onBreakGlass={setBreakingGlass}
          pendingByStudy={pendingByStudy}
          highlighted={highlighted}
          held={source === 'server' ? byId : undefined}
          onRowChanged={source === 'server' ? server.refresh : undefined}
        >
          {source === 'device' && loaded && shown.length === 0 && (
            <p className="empty">
              {rows.length === 0 ? 'No studies on this device yet.' : 'No study on this device matches these filters.'}
            </p>
          )}
          {source === 'server' && (
            <div className="wl-more">
              {server.error && (
                <p className="error" role="alert">
                  {server.error}
                </p>
              )}
              {!server.loading && !server.error && server.total === 0 && (
                <p className="empty">No study in the archive matches these filters.</p>
              )}
              {server.hasMore && (
                <button type="button" onClick={server.loadMore} disabled={server.loading}>
                  {server.loading ? 'Loading…' : 'More'}
                </button>
              )}
            </div>
          )}
        </WorklistTable>
        {detailOpen && selected && selected.access === 'open' && (
          <StudyDetailPanel study={selected} onDevice={byId.has(selected.id)} onClose={() => setDetailOpen(false)} />
        )}
        {breakingGlass && (
          <BreakGlassDialog
            study={breakingGlass}
            onClose={() => setBreakingGlass(null)}
            onOpened={() => {
              if (source === 'server') server.refresh();
              setSelectedId(breakingGlass.id);
              setDetailOpen(true);
              setBreakingGlass(null);
            }}
          />
        )}
      </div>
    </section>
  );
}

function SourceButton(props: {
  value: Source;
  chosen: Source;
  onChoose: (value: Source) => void;
  label: string;
  disabled?: boolean;
  title?: string;
}) {
  return (
    <button
      type="button"
      aria-pressed={props.chosen === props.value}
      className={props.chosen === props.value ? 'active' : undefined}
      disabled={props.disabled}
      title={props.title}
      onClick={() => props.onChoose(props.value)}
      data-testid={`worklist-source-${props.value}`}
    >
      {props.label}
    </button>
  );
}
