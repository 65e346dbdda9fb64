/**
 * One Cornerstone3D stack viewport with its tools, overlay, keyboard and touch handling, and a clear
 * message when an image cannot be loaded or decoded.
 */
import { eventTarget, getRenderingEngine, RenderingEngine, type StackViewport, type Types, utilities } from '@cornerstonejs/core';
import {
  annotation,
  LengthTool,
  PanTool,
  StackScrollTool,
  Enums as ToolEnums,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
} from '@cornerstonejs/tools';
import { useCallback, useEffect, useRef, useState } from 'react';
import { CoreEnums } from './cornerstone';

export type PrimaryTool = 'WindowLevel' | 'Pan' | 'Zoom' | 'StackScroll' | 'Length';

export const CT_PRESETS: Record<string, { center: number; width: number }> = {
  brain: { center: 40, width: 80 },
  lung: { center: -600, width: 1500 },
  bone: { center: 480, width: 2500 },
  abdomen: { center: 40, width: 400 },
};

const TOOL_NAMES: Record<PrimaryTool, string> = {
  WindowLevel: WindowLevelTool.toolName,
  Pan: PanTool.toolName,
  Zoom: ZoomTool.toolName,
  StackScroll: StackScrollTool.toolName,
  Length: LengthTool.toolName,
};

export interface OverlayInfo {
  patient: string;
  patientId: string;
  study: string;
  studyDate: string;
  series: string;
}

export interface StackViewerHandle {
  viewport: StackViewport;
  element: HTMLDivElement;
}

let nextId = 1;

export function StackViewer({
  imageIds,
  overlay,
  modality,
  onReady,
  sourceLabel,
}: {
  imageIds: string[];
  overlay: OverlayInfo;
  modality: string;
  onReady?: (handle: StackViewerHandle | null) => void;
  sourceLabel: string;
}) {
  const elementRef = useRef<HTMLDivElement>(null);
  const ids = useRef({ engine: `pacs-engine-${nextId}`, viewport: `pacs-vp-${nextId}`, group: `pacs-tools-${nextId++}` });
  const [tool, setTool] = useState<PrimaryTool>('WindowLevel');
  const [index, setIndex] = useState(0);
  const [voi, setVoi] = useState<{ center: number; width: number } | null>(null);
  const [zoom, setZoom] = useState(1);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [invert, setInvert] = useState(false);

  const viewport = useCallback((): StackViewport | null => {
    const engine = getRenderingEngine(ids.current.engine);
    return (engine?.getViewport(ids.current.viewport) as StackViewport | undefined) ?? null;
  }, []);

  // Engine, viewport and tool group: once per component.
  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    const { engine: engineId, viewport: viewportId, group: groupId } = ids.current;
    const engine = new RenderingEngine(engineId);
    engine.enableElement({ viewportId, type: CoreEnums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] } });
    const group = ToolGroupManager.createToolGroup(groupId);
    if (group) {
      group.addTool(WindowLevelTool.toolName);
      group.addTool(PanTool.toolName);
      // Two fingers: pinch zooms and moving both fingers pans (ZoomTool's pinch mode).
      group.addTool(ZoomTool.toolName, { pinchToZoom: true, pan: true });
      group.addTool(StackScrollTool.toolName, { loop: false });
      group.addTool(LengthTool.toolName);
      group.addViewport(viewportId, engineId);
    }
    const observer = new ResizeObserver(() => engine.resize(true, true));
    observer.observe(element);
    const onRendered = () => {
      const vp = engine.getViewport(viewportId) as StackViewport | undefined;
      if (!vp) return;
      const range = vp.getProperties().voiRange;
      if (range) setVoi({ center: (range.upper + range.lower) / 2, width: range.upper - range.lower });
      setIndex(vp.getCurrentImageIdIndex());
      setZoom(vp.getZoom?.() ?? 1);
    };
    const onNewImage = () => {
      setError(null);
      setLoading(false);
    };
    const onFailed = (event: Event) => {
      const detail = (event as CustomEvent<{ imageId?: string; error?: unknown }>).detail ?? {};
      const vp = engine.getViewport(viewportId) as StackViewport | undefined;
      if (detail.imageId && vp && !vp.getImageIds().includes(detail.imageId)) return;
      setLoading(false);
      setError(describeError(detail.error));
    };
    element.addEventListener(CoreEnums.Events.IMAGE_RENDERED, onRendered);
    element.addEventListener(CoreEnums.Events.STACK_NEW_IMAGE, onNewImage);
    eventTarget.addEventListener(CoreEnums.Events.IMAGE_LOAD_ERROR, onFailed);
    eventTarget.addEventListener(CoreEnums.Events.IMAGE_LOAD_FAILED, onFailed);
    return () => {
      observer.disconnect();
      element.removeEventListener(CoreEnums.Events.IMAGE_RENDERED, onRendered);
      element.removeEventListener(CoreEnums.Events.STACK_NEW_IMAGE, onNewImage);
      eventTarget.removeEventListener(CoreEnums.Events.IMAGE_LOAD_ERROR, onFailed);
      eventTarget.removeEventListener(CoreEnums.Events.IMAGE_LOAD_FAILED, onFailed);
      onReady?.(null);
      ToolGroupManager.destroyToolGroup(groupId);
      engine.destroy();
    };
  }, [onReady]);

  // Bindings: the chosen tool on the primary button and one finger; zoom on the right button and two
  // fingers; pan on the middle button; stack scroll on the wheel.
  useEffect(() => {
    const group = ToolGroupManager.getToolGroup(ids.current.group);
    if (!group) return;
    const { MouseBindings } = ToolEnums;
    const bindings = new Map<string, { mouseButton?: number; numTouchPoints?: number }[]>();
    const add = (name: string, binding: { mouseButton?: number; numTouchPoints?: number }) =>
      bindings.set(name, [...(bindings.get(name) ?? []), binding]);
    add(TOOL_NAMES[tool], { mouseButton: MouseBindings.Primary });
    add(ZoomTool.toolName, { mouseButton: MouseBindings.Secondary });
    add(ZoomTool.toolName, { numTouchPoints: 2 });
    add(PanTool.toolName, { mouseButton: MouseBindings.Auxiliary });
    add(StackScrollTool.toolName, { mouseButton: MouseBindings.Wheel });
    for (const name of Object.values(TOOL_NAMES)) group.setToolPassive(name);
    for (const [name, list] of bindings) group.setToolActive(name, { bindings: list });
  }, [tool]);

  // The stack.
  useEffect(() => {
    const vp = viewport();
    const element = elementRef.current;
    if (!vp || !element || imageIds.length === 0) return;
    let cancelled = false;
    setError(null);
    setLoading(true);
    setInvert(false);
    const start = performance.now();
    vp.setStack(imageIds, 0)
      .then(() => {
        if (cancelled) return;
        vp.render();
        setLoading(false);
        onReady?.({ viewport: vp, element });
        (window as unknown as { __pacsViewerFirstImageMs?: number }).__pacsViewerFirstImageMs = performance.now() - start;
      })
      .catch((reason: unknown) => {
        if (!cancelled) {
          setLoading(false);
          setError(describeError(reason));
        }
      });
    return () => {
      cancelled = true;
    };
  }, [imageIds, viewport, onReady]);

  const scroll = useCallback(
    (delta: number) => {
      const vp = viewport();
      if (!vp) return;
      const next = Math.max(0, Math.min(vp.getImageIds().length - 1, vp.getCurrentImageIdIndex() + delta));
      vp.setImageIdIndex(next).catch((reason: unknown) => setError(describeError(reason)));
    },
    [viewport],
  );

  const applyVoi = (center: number, width: number) => {
    const vp = viewport();
    if (!vp) return;
    vp.setProperties({ voiRange: { lower: center - width / 2, upper: center + width / 2 } });
    vp.render();
  };
  const reset = () => {
    const vp = viewport();
    if (!vp) return;
    vp.resetCamera();
    vp.resetProperties();
    setInvert(false);
    vp.render();
  };
  const toggleInvert = () => {
    const vp = viewport();
    if (!vp) return;
    const next = !vp.getProperties().invert;
    vp.setProperties({ invert: next });
    setInvert(next);
    vp.render();
  };
  const clearMeasurements = () => {
    annotation.state.removeAllAnnotations();
    viewport()?.render();
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    const keys = new Map<string, () => void>([
      ['ArrowUp', () => scroll(-1)],
      ['ArrowLeft', () => scroll(-1)],
      ['ArrowDown', () => scroll(1)],
      ['ArrowRight', () => scroll(1)],
      ['PageUp', () => scroll(-10)],
      ['PageDown', () => scroll(10)],
      ['Home', () => scroll(-1e6)],
      ['End', () => scroll(1e6)],
      ['w', () => setTool('WindowLevel')],
      ['p', () => setTool('Pan')],
      ['z', () => setTool('Zoom')],
      ['s', () => setTool('StackScroll')],
      ['l', () => setTool('Length')],
      ['r', reset],
      ['i', toggleInvert],
    ]);
    if (modality === 'CT') {
      Object.keys(CT_PRESETS).forEach((name, n) => {
        keys.set(String(n + 1), () => {
          const preset = CT_PRESETS[name]!;
          applyVoi(preset.center, preset.width);
        });
      });
    }
    const action = keys.get(event.key);
    if (action && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      action();
    }
  };

  const toolButton = (name: PrimaryTool, label: string, key: string) => (
    <button type="button" aria-pressed={tool === name} onClick={() => setTool(name)} title={`${label} (${key})`} aria-keyshortcuts={key}>
      {label}
    </button>
  );

  return (
    <div className="viewer-main">
      <div className="viewer-toolbar" role="toolbar" aria-label="Viewer tools">
        {toolButton('WindowLevel', 'W/L', 'W')}
        {toolButton('Pan', 'Pan', 'P')}
        {toolButton('Zoom', 'Zoom', 'Z')}
        {toolButton('StackScroll', 'Scroll', 'S')}
        {toolButton('Length', 'Length', 'L')}
        {modality === 'CT' && (
          <select
            aria-label="Window preset"
            value=""
            onChange={(event) => {
              const preset = CT_PRESETS[event.target.value];
              if (preset) applyVoi(preset.center, preset.width);
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
        <button type="button" onClick={toggleInvert} aria-pressed={invert} title="Invert (I)">
          Invert
        </button>
        <button type="button" onClick={reset} title="Reset (R)">
          Reset
        </button>
        <button type="button" onClick={clearMeasurements}>
          Clear measurements
        </button>
        <button type="button" onClick={() => scroll(-1)} aria-label="Previous image">
          ▲
        </button>
        <button type="button" onClick={() => scroll(1)} aria-label="Next image">
          ▼
        </button>
      </div>
      <div className="viewer-stage">
        <div
          ref={elementRef}
          className="viewer-viewport"
          // biome-ignore lint/a11y/noNoninteractiveTabindex: the viewport (role application) takes keyboard input
          tabIndex={0}
          role="application"
          aria-roledescription="image viewport"
          aria-label={`Image ${index + 1} of ${imageIds.length}. Arrow keys scroll, W/P/Z/S/L pick a tool, R resets, I inverts${modality === 'CT' ? ', 1–4 presets' : ''}.`}
          data-testid="viewport"
          onKeyDown={onKeyDown}
          onContextMenu={(event) => event.preventDefault()}
        />
        <div className="viewer-overlay" aria-hidden="true">
          <div className="tl">
            <div>{overlay.patient}</div>
            <div>{overlay.patientId}</div>
          </div>
          <div className="tr">
            <div>{overlay.study}</div>
            <div>{formatDate(overlay.studyDate)}</div>
            <div>{overlay.series}</div>
          </div>
          <div className="bl" data-testid="overlay-image">
            Im {imageIds.length ? index + 1 : 0}/{imageIds.length} · {sourceLabel}
          </div>
          <div className="br" data-testid="overlay-voi">
            {voi ? `W ${Math.round(voi.width)} L ${Math.round(voi.center)}` : ''} · zoom {zoom.toFixed(2)}
          </div>
        </div>
        {(error || (loading && imageIds.length > 0)) && (
          <div className="viewer-message" role={error ? 'alert' : 'status'} data-testid="viewport-message">
            {error ?? 'Loading image…'}
          </div>
        )}
      </div>
    </div>
  );
}

function formatDate(value: string): string {
  return /^\d{8}$/.test(value) ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6)}` : value;
}

function describeError(reason: unknown): string {
  const detail = reason as { message?: string; status?: number; request?: { status?: number } } | string | undefined;
  const status = typeof detail === 'object' ? (detail?.status ?? detail?.request?.status) : undefined;
  const message = typeof detail === 'string' ? detail : (detail?.message ?? '');
  if (status === 401 || status === 403) return 'This image cannot be shown: you are not signed in or not allowed to see it.';
  if (status === 404) return 'This image is no longer in the archive.';
  if (status === 0 || /network|fetch/i.test(message))
    return 'This image cannot be loaded: the network is unreachable and the study is not on this device.';
  return `This image cannot be decoded${message ? ` (${message})` : ''}. Other images of the series may still display.`;
}

/** For tests and benchmarks: where an image pixel lands on the page. */
export function imageToPage(handle: StackViewerHandle, x: number, y: number): { x: number; y: number } {
  const imageId = handle.viewport.getCurrentImageId();
  const world = utilities.imageToWorldCoords(imageId, [x, y]) as Types.Point3;
  const canvas = handle.viewport.worldToCanvas(world);
  const rect = handle.element.getBoundingClientRect();
  return { x: rect.left + canvas[0], y: rect.top + canvas[1] };
}
