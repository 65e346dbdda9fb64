/** The viewer's toolbar and shortcut help: acts on the active viewport (tool choice applies to both). */

import { type MouseEvent, useState } from 'react';
import { useMediaQuery } from '../app/use-media-query';
import type { ViewState } from './StackViewer';
import { CT_PRESETS, PRIMARY_TOOLS, type PrimaryTool, SHORTCUT_HELP, type ViewerAction } from './shortcuts';

/** Below this width the toolbar keeps the frequent tools on one row and the rest under "More". */
const COMPACT = '(max-width: 1599px)';

export function ViewerToolbar({
  tool,
  onTool,
  view,
  modality,
  run,
  onClearMeasurements,
  keyImage,
  twoUp,
  onTwoUp,
  link,
  helpOpen,
  onHelp,
}: {
  tool: PrimaryTool;
  onTool: (tool: PrimaryTool) => void;
  /** The active viewport's state. */
  view: ViewState | null;
  modality: string;
  run: (action: ViewerAction) => void;
  onClearMeasurements: () => void;
  /** Whether the active viewport's image is a key image of the study, and flagging or unflagging it. */
  keyImage: { on: boolean; toggle: () => void };
  twoUp: boolean;
  onTwoUp: (on: boolean) => void;
  /** Linked scrolling: null when it cannot apply (one viewport, or different orientations). */
  link: { on: boolean; toggle: () => void; unavailable: string | null };
  helpOpen: boolean;
  onHelp: (open: boolean) => void;
}) {
  const key = (k: string) => k.toUpperCase();
  // A tablet's width cannot hold every tool on one row: the occasional ones move into a menu.
  const compact = useMediaQuery(COMPACT);
  const [moreOpen, setMoreOpen] = useState(false);
  const closeOnChoice = (event: MouseEvent) => {
    if ((event.target as HTMLElement).closest('button')) setMoreOpen(false);
  };
  const secondary = (
    <>
      <button type="button" onClick={() => run({ type: 'invert' })} aria-pressed={!!view?.invert} title="Invert (I)" aria-keyshortcuts="I">
        Invert
      </button>
      <button type="button" onClick={() => run({ type: 'rotate' })} title="Rotate 90° clockwise (T)" aria-keyshortcuts="T">
        Rotate
      </button>
      <button
        type="button"
        onClick={() => run({ type: 'flipH' })}
        aria-pressed={!!view?.flipHorizontal}
        title="Flip horizontally (H)"
        aria-keyshortcuts="H"
      >
        Flip H
      </button>
      <button
        type="button"
        onClick={() => run({ type: 'flipV' })}
        aria-pressed={!!view?.flipVertical}
        title="Flip vertically (V)"
        aria-keyshortcuts="V"
      >
        Flip V
      </button>
      <button type="button" onClick={() => run({ type: 'reset' })} title="Reset the view (R)" aria-keyshortcuts="R">
        Reset
      </button>
      <button type="button" onClick={onClearMeasurements} title="Delete your measurements on this viewport's series (others' stay)">
        Clear measurements
      </button>
      <button type="button" aria-pressed={twoUp} onClick={() => onTwoUp(!twoUp)} title="Show one or two viewports side by side">
        Two viewports
      </button>
      {twoUp && (
        <button
          type="button"
          aria-pressed={link.on}
          disabled={!!link.unavailable && !link.on}
          onClick={link.toggle}
          title={link.unavailable ?? 'Scroll both viewports together, keeping their current offset'}
        >
          Link scroll
        </button>
      )}
    </>
  );
  return (
    <div className="viewer-toolbar" role="toolbar" aria-label="Viewer tools">
      {PRIMARY_TOOLS.map((t) => (
        <button
          key={t.tool}
          type="button"
          aria-pressed={tool === t.tool}
          onClick={() => onTool(t.tool)}
          title={`${t.label} (${key(t.key)})`}
          aria-keyshortcuts={key(t.key)}
        >
          {t.label}
        </button>
      ))}
      {modality === 'CT' && (
        <select
          aria-label="Window preset"
          value=""
          title="CT window presets (1–4)"
          onChange={(event) => {
            if (event.target.value) run({ type: 'preset', name: event.target.value });
          }}
        >
          <option value="">Preset…</option>
          {Object.entries(CT_PRESETS).map(([name, p], n) => (
            <option key={name} value={name}>
              {name} ({p.width}/{p.center}) [{n + 1}]
            </option>
          ))}
        </select>
      )}
      <button
        type="button"
        onClick={() => run({ type: 'cine' })}
        aria-pressed={!!view?.playing}
        disabled={!view || view.count < 2}
        title="Cine play / stop (C)"
        aria-keyshortcuts="C"
      >
        {view?.playing ? 'Stop cine' : 'Play cine'}
      </button>
      <button
        type="button"
        aria-pressed={keyImage.on}
        onClick={keyImage.toggle}
        aria-label="Key image"
        title="Flag this image as a key image of the study (listed in the report)"
      >
        {compact ? 'Key' : 'Key image'}
      </button>
      <button type="button" onClick={() => run({ type: 'scroll', delta: -1 })} aria-label="Previous image" title="Previous image (↑)">
        ▲
      </button>
      <button type="button" onClick={() => run({ type: 'scroll', delta: 1 })} aria-label="Next image" title="Next image (↓)">
        ▼
      </button>
      {compact ? (
        <div className="viewer-more">
          <button
            type="button"
            aria-expanded={moreOpen}
            aria-controls="viewer-more"
            onClick={() => setMoreOpen(!moreOpen)}
            title="More tools: invert, rotate, flip, reset, clear measurements, two viewports"
          >
            More ▾
          </button>
          {moreOpen && (
            // Using one of its buttons (mouse, touch, Enter or Space) closes the menu, and so does Escape.
            <fieldset
              id="viewer-more"
              className="viewer-more-popover"
              aria-label="More tools"
              onClick={closeOnChoice}
              onKeyDown={(event) => {
                if (event.key === 'Escape') setMoreOpen(false);
              }}
            >
              {secondary}
            </fieldset>
          )}
        </div>
      ) : (
        secondary
      )}
      <div className="viewer-help">
        <button
          type="button"
          aria-expanded={helpOpen}
          aria-controls="viewer-help"
          onClick={() => onHelp(!helpOpen)}
          title="Keyboard and touch (?)"
          aria-label="Shortcuts"
        >
          {compact ? '?' : 'Shortcuts'}
        </button>
        {helpOpen && (
          <div id="viewer-help" className="viewer-help-popover" role="dialog" aria-label="Viewer shortcuts">
            <dl>
              {SHORTCUT_HELP.map((h) => (
                <div key={h.keys}>
                  <dt>{h.keys}</dt>
                  <dd>{h.what}</dd>
                </div>
              ))}
            </dl>
            <button type="button" onClick={() => onHelp(false)}>
              Close
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
