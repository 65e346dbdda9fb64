/**
 * Late edits (LOCK-5): Yjs updates the sync-server refused after the report was signed. They are
 * binary diffs against the signed document, so to read them we take a copy of the signed state
 * (a fresh, read-only sync with the server, which never applied them), apply them to a clone and
 * compare the section text.
 */
import { Awareness } from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { defaultSyncUrl } from './connection';
import type { LateEdit, ReportSession } from './report-api';
import { changedSections, fromBase64, type SectionChange, sectionTexts } from './yjs-util';

/** The server's copy of the document (the signed state, once locked). */
export async function loadServerCopy(
  reportId: string,
  session: ReportSession,
  timeoutMs = 10_000,
  syncUrl = defaultSyncUrl(),
): Promise<Y.Doc> {
  const doc = new Y.Doc();
  const awareness = new Awareness(doc);
  awareness.setLocalState(null); // an observer: no presence, no caret
  const provider = new WebsocketProvider(syncUrl, `report:${reportId}`, doc, {
    params: { token: session.token },
    awareness,
    disableBc: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the sync server did not answer')), timeoutMs);
      provider.on('sync', (synced: boolean) => {
        if (!synced) return;
        clearTimeout(timer);
        resolve();
      });
    });
    return doc;
  } finally {
    provider.destroy();
    awareness.destroy();
  }
}

export interface ReadableLateEdit {
  id: string;
  userName: string;
  receivedAt: string;
  changes: SectionChange[];
}

/** Each late edit (applied cumulatively, in order) as the section text it would have changed. */
export function describeLateEdits(signed: Y.Doc, edits: readonly LateEdit[]): ReadableLateEdit[] {
  const work = new Y.Doc();
  Y.applyUpdate(work, Y.encodeStateAsUpdate(signed));
  const out: ReadableLateEdit[] = [];
  let before = sectionTexts(work);
  for (const edit of edits) {
    Y.applyUpdate(work, fromBase64(edit.update));
    const after = sectionTexts(work);
    out.push({ id: edit.id, userName: edit.userName, receivedAt: edit.receivedAt, changes: changedSections(before, after) });
    before = after;
  }
  work.destroy();
  return out;
}

/** Addendum text from late edits: one paragraph per added line, prefixed by its section. */
export function addendumText(edits: readonly ReadableLateEdit[]): string {
  const lines: string[] = [];
  for (const edit of edits) {
    for (const change of edit.changes) {
      const added = change.added.length > 0 ? change.added : change.after ? [change.after] : [];
      for (const line of added) lines.push(change.title ? `${change.title}: ${line}` : line);
    }
  }
  return lines.join('\n');
}
