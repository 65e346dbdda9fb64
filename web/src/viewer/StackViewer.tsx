/**
 * One Cornerstone3D stack viewport with its tool group, overlay, keyboard and touch handling, cine, and
 * a clear message when an image cannot be loaded or decoded. The toolbar lives in ViewerApp and drives
 * the active viewport through the handle this component hands to `onReady`.
 */
import { eventTarget, getRenderingEngine, metaData, RenderingEngine, type StackViewport, type Types } from '@cornerstonejs/core';
import {
  AngleTool,
  addTool,
  annotation,
  EllipticalROITool,
  LengthTool,
  PanTool,
  StackScrollTool,
  Enums as ToolEnums,
  ToolGroupManager,
  utilities as toolUtilities,
  WindowLevelTool,
  ZoomTool,
} from '@cornerstonejs/tools';
import { useCallback, useEffect, useRef, useState } from 'react';
import { loadTimeoutMs } from './config';
import { CoreEnums } from './cornerstone';
import { imageToWorld } from './image-coords';
import { guardLoad, LoadTimeoutError } from './load-guard';
import { startPrefetch } from './prefetch';
import { CT_PRESETS, PRIMARY_TOOLS, type PrimaryTool, type ViewerAction } from './shortcuts';

const TOOL_CLASSES = [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool, AngleTool, EllipticalROITool];
// shortcuts.ts names the tools without importing Cornerstone; a renamed tool must fail loudly, not silently unbind.
for (const { tool } of PRIMARY_TOOLS)
  if (!TOOL_CLASSES.some((c) => c.toolName === tool)) throw new Error(`viewer: no Cornerstone tool named ${tool}`);

type ToolGroup = NonNullable<ReturnType<typeof ToolGroupManager.getToolGroup>>;

/**
 * The chosen tool on the primary button and one finger; zoom on the right button and two fingers (pinch
 * zoom + pan); pan on the middle button; stack scroll on the wheel.
 */
function bindTools(group: ToolGroup, tool: PrimaryTool): void {
  const { MouseBindings } = ToolEnums;
  const bindings = new Map<string, { mouseButton?: number; numTouchPoints?: number }[]>();
  const add = (name: string, binding: { mouseButton?: number; numTouchPoints?: number }) =>
    bindings.set(name, [...(bindings.get(name) ?? []), binding]);
  add(tool, { mouseButton: MouseBindings.Primary });
  add(ZoomTool.toolName, { mouseButton: MouseBindings.Secondary });
  add(ZoomTool.toolName, { numTouchPoints: 2 });
  add(PanTool.toolName, { mouseButton: MouseBindings.Auxiliary });
  add(StackScrollTool.toolName, { mouseButton: MouseBindings.Wheel });
  for (const { tool: name } of PRIMARY_TOOLS) group.setToolPassive(name);
  for (const [name, list] of bindings) group.setToolActive(name, { bindings: list });
}

/** Registers the tools this viewport uses (idempotent; initCornerstone registers the first five too). */
function registerTools(): void {
  for (const tool of TOOL_CLASSES) addTool(tool);
}

export interface OverlayInfo {
  patient: string;
  patientId: string;
  study: string;
  studyDate: string;
  series: string;
}

/** What the toolbar and the overlay show about a viewport. */
export interface ViewState {
  index: number;
  count: number;
  voi: { center: number; width: number } | null;
  invert: boolean;
  rotation: number;
  flipHorizontal: boolean;
  flipVertical: boolean;
  zoom: number;
  playing: boolean;
}

export interface StackViewerHandle {
  viewport: StackViewport;
  element: HTMLDivElement;
  /** View actions (not tool choice or help, which the parent owns). */
  run(action: ViewerAction): void;
  setIndex(index: number): void;
  clearMeasurements(): void;
}

let nextId = 1;

/**
 * One rendering engine for every viewport of the page, kept across studies: each engine owns an
 * offscreen WebGL context, and creating one on every study opened cost ~40 ms (software GL).
 */
const ENGINE_ID = 'pacs-viewer';
function sharedEngine(): RenderingEngine {
  return (getRenderingEngine(ENGINE_ID) as RenderingEngine | undefined) ?? new RenderingEngine(ENGINE_ID);
}

export function StackViewer({
  pane,
  imageIds,
  overlay,
  frameRate,
  sliceLabels,
  tool,
  active,
  onActivate,
  onReady,
  onViewChange,
  sourceLabel,
}: {
  /** 0 or 1: names the viewport for assistive technology and tests. */
  pane: number;
  imageIds: string[];
  overlay: OverlayInfo;
  /** Cine rate (frames per second). */
  frameRate: number;
  /** Per image: the slice position shown in the overlay ('' when unknown). */
  sliceLabels: string[];
  tool: PrimaryTool;
  active: boolean;
  onActivate?: () => void;
  onReady?: (handle: StackViewerHandle | null) => void;
  onViewChange?: (state: ViewState) => void;
  sourceLabel: string;
}) {
  const elementRef = useRef<HTMLDivElement>(null);
  const ids = useRef({ engine: ENGINE_ID, viewport: `pacs-vp-${nextId}`, group: `pacs-tools-${nextId++}` });
  const [view, setView] = useState<ViewState>({
    index: 0,
    count: imageIds.length,
    voi: null,
    invert: false,
    rotation: 0,
    flipHorizontal: false,
    flipVertical: false,
    zoom: 1,
    playing: false,
  });
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const playing = useRef(false);
  const toolRef = useRef(tool);
  toolRef.current = tool;
  const onViewChangeRef = useRef(onViewChange);
  onViewChangeRef.current = onViewChange;

  const viewport = useCallback((): StackViewport | null => {
    const engine = getRenderingEngine(ids.current.engine);
    return (engine?.getViewport(ids.current.viewport) as StackViewport | undefined) ?? null;
  }, []);

  const readView = useCallback(() => {
    const vp = viewport();
    if (!vp) return;
    const props = vp.getProperties();
    const range = props.voiRange;
    const presentation = vp.getViewPresentation();
    const next: ViewState = {
      index: vp.getCurrentImageIdIndex(),
      count: vp.getImageIds().length,
      voi: range ? { center: (range.upper + range.lower) / 2, width: range.upper - range.lower } : null,
      invert: !!props.invert,
      rotation: Math.round(presentation.rotation ?? 0) % 360,
      flipHorizontal: !!presentation.flipHorizontal,
      flipVertical: !!presentation.flipVertical,
      zoom: vp.getZoom?.() ?? 1,
      playing: playing.current,
    };
    setView(next);
    onViewChangeRef.current?.(next);
  }, [viewport]);

  // Engine, viewport and tool group: once per component.
  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    registerTools();
    const { engine: engineId, viewport: viewportId, group: groupId } = ids.current;
    const engine = sharedEngine();
    engine.enableElement({ viewportId, type: CoreEnums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] } });
    const group = ToolGroupManager.createToolGroup(groupId);
    if (group) {
      group.addTool(WindowLevelTool.toolName);
      group.addTool(PanTool.toolName);
      // Two fingers: pinch zooms and moving both fingers pans (ZoomTool's pinch mode).
      group.addTool(ZoomTool.toolName, { pinchToZoom: true, pan: true });
      group.addTool(StackScrollTool.toolName, { loop: false });
      group.addTool(LengthTool.toolName);
      group.addTool(AngleTool.toolName);
      group.addTool(EllipticalROITool.toolName, { centerPointRadius: 1 });
      // Bound before the viewport joins: each binding renders the group's viewports, and drawing the still
      // empty viewport cost ~35 ms (the copy out of the offscreen WebGL canvas) while its first image loaded.
      bindTools(group, toolRef.current);
      group.addViewport(viewportId, engineId);
    }
    // On a resize (window, tablet rotation, one/two viewports) the image is fitted to the new box again,
    // keeping the user's relative zoom, pan, rotation and flips; Cornerstone's keepCamera would keep the
    // absolute scale and crop the image when its box gets narrower.
    const observer = new ResizeObserver(() => {
      const vp = engine.getViewport(viewportId) as StackViewport | undefined;
      const presentation = vp?.getCornerstoneImage() ? vp.getViewPresentation() : null;
      // Before the first image there is nothing to draw: rendering the empty viewport (the first observation
      // of every new viewport) cost ~35 ms of copying out of the offscreen WebGL canvas while that image loaded.
      engine.resize(presentation !== null, false);
      if (vp && presentation) {
        vp.setViewPresentation(presentation);
        vp.render();
      }
    });
    observer.observe(element);
    const onNewImage = () => {
      setError(null);
      setLoading(false);
    };
    const onFailed = (event: Event) => {
      const detail = (event as CustomEvent<{ imageId?: string; error?: unknown }>).detail ?? {};
      const vp = engine.getViewport(viewportId) as StackViewport | undefined;
      // Only the image this viewport shows or is going to (not a series thumbnail, not the other viewport's).
      if (
        detail.imageId &&
        vp &&
        detail.imageId !== vp.getCurrentImageId() &&
        detail.imageId !== vp.getImageIds()[vp.getTargetImageIdIndex()]
      )
        return;
      setLoading(false);
      setError(describeError(detail.error));
    };
    element.addEventListener(CoreEnums.Events.IMAGE_RENDERED, readView);
    element.addEventListener(CoreEnums.Events.STACK_NEW_IMAGE, onNewImage);
    eventTarget.addEventListener(CoreEnums.Events.IMAGE_LOAD_ERROR, onFailed);
    eventTarget.addEventListener(CoreEnums.Events.IMAGE_LOAD_FAILED, onFailed);
    return () => {
      observer.disconnect();
      if (playing.current) toolUtilities.cine.stopClip(element);
      element.removeEventListener(CoreEnums.Events.IMAGE_RENDERED, readView);
      element.removeEventListener(CoreEnums.Events.STACK_NEW_IMAGE, onNewImage);
      eventTarget.removeEventListener(CoreEnums.Events.IMAGE_LOAD_ERROR, onFailed);
      eventTarget.removeEventListener(CoreEnums.Events.IMAGE_LOAD_FAILED, onFailed);
      ToolGroupManager.destroyToolGroup(groupId);
      engine.disableElement(viewportId);
    };
  }, [readView]);

  // A new primary tool: bound again (the first one is bound before the viewport joins the group).
  useEffect(() => {
    const group = ToolGroupManager.getToolGroup(ids.current.group);
    if (!group || group.getActivePrimaryMouseButtonTool() === tool) return;
    bindTools(group, tool);
  }, [tool]);

  const stopCine = useCallback(() => {
    const element = elementRef.current;
    if (!element || !playing.current) return;
    toolUtilities.cine.stopClip(element);
    playing.current = false;
    readView();
  }, [readView]);

  /** Shows image `index` of the stack; a failure, or no image within the load timeout, shows the message. */
  const showIndex = useCallback((vp: StackViewport, index: number) => {
    guardLoad(
      () => vp.setImageIdIndex(index),
      loadTimeoutMs(),
      (timeout) => {
        // Only if the viewport still waits for that image (not after the user scrolled on, not once shown).
        if (vp.getTargetImageIdIndex() === index && vp.getCurrentImageIdIndex() !== index) setError(describeError(timeout));
      },
    ).promise.catch((reason: unknown) => setError(describeError(reason)));
  }, []);

  const scroll = useCallback(
    (delta: number) => {
      const vp = viewport();
      if (!vp) return;
      const next = Math.max(0, Math.min(vp.getImageIds().length - 1, vp.getCurrentImageIdIndex() + delta));
      showIndex(vp, next);
    },
    [viewport, showIndex],
  );

  const run = useCallback(
    (action: ViewerAction) => {
      const vp = viewport();
      const element = elementRef.current;
      if (!vp || !element) return;
      switch (action.type) {
        case 'scroll':
          scroll(action.delta);
          return;
        case 'preset': {
          const preset = CT_PRESETS[action.name];
          if (!preset) return;
          vp.setProperties({ voiRange: { lower: preset.center - preset.width / 2, upper: preset.center + preset.width / 2 } });
          break;
        }
        case 'reset':
          stopCine();
          vp.resetCamera();
          vp.resetProperties();
          vp.setViewPresentation({ rotation: 0, flipHorizontal: false, flipVertical: false });
          break;
        case 'invert':
          vp.setProperties({ invert: !vp.getProperties().invert });
          break;
        case 'rotate':
          vp.setViewPresentation({ rotation: ((vp.getViewPresentation().rotation ?? 0) + 90) % 360 });
          break;
        case 'flipH':
          vp.setViewPresentation({ flipHorizontal: !vp.getViewPresentation().flipHorizontal });
          break;
        case 'flipV':
          vp.setViewPresentation({ flipVertical: !vp.getViewPresentation().flipVertical });
          break;
        case 'cine':
          if (playing.current) {
            stopCine();
            return;
          }
          if (vp.getImageIds().length < 2) return;
          toolUtilities.cine.playClip(element, { framesPerSecond: frameRate, loop: true });
          playing.current = true;
          break;
        default:
          return;
      }
      vp.render();
      readView();
    },
    [viewport, scroll, stopCine, readView, frameRate],
  );

  const runRef = useRef(run);
  runRef.current = run;

  const clearMeasurements = useCallback(() => {
    const vp = viewport();
    if (!vp) return;
    const shown = new Set(vp.getImageIds());
    for (const a of annotation.state.getAllAnnotations())
      if (a.annotationUID && shown.has(a.metadata?.referencedImageId ?? '')) annotation.state.removeAnnotation(a.annotationUID);
    vp.render();
  }, [viewport]);

  // The stack.
  useEffect(() => {
    const vp = viewport();
    const element = elementRef.current;
    if (!vp || !element || imageIds.length === 0) return;
    let cancelled = false;
    let stopPrefetch: (() => void) | null = null;
    stopCine();
    setError(null);
    setLoading(true);
    const start = performance.now();
    // A stack whose first image never arrives (or whose loader throws) ends in the message, not in
    // "Loading image…" for ever (load-guard.ts); should the image come after all, it replaces the message.
    const load = guardLoad(
      () => vp.setStack(imageIds, 0),
      loadTimeoutMs(),
      (timeout) => {
        if (cancelled) return;
        setLoading(false);
        setError(describeError(timeout));
      },
    );
    load.promise
      .then(() => {
        if (cancelled) return;
        vp.render();
        setLoading(false);
        setError(null);
        onReady?.({
          viewport: vp,
          element,
          run: (action) => runRef.current(action),
          setIndex: (index) => {
            if (index >= 0 && index !== vp.getCurrentImageIdIndex()) showIndex(vp, index);
          },
          clearMeasurements,
        });
        // Cornerstone draws on the next animation frame: the prefetch's requests and responses, queued
        // before it, delayed the first image by tens of milliseconds.
        return drawn(element);
      })
      .then(() => {
        if (cancelled) return;
        stopPrefetch = startPrefetch(element, vp);
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
      stopPrefetch?.();
      load.cancel();
    };
  }, [imageIds, viewport, onReady, clearMeasurements, stopCine, showIndex]);

  useEffect(() => () => onReady?.(null), [onReady]);

  const suffix = pane === 0 ? '' : `-${pane + 1}`;
  const orientation = [
    view.rotation ? `rot ${view.rotation}°` : '',
    view.flipHorizontal ? 'flip H' : '',
    view.flipVertical ? 'flip V' : '',
    view.invert ? 'inverted' : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <div className={`viewer-stage${active ? ' active' : ''}`} onPointerDownCapture={onActivate} data-testid={`pane${suffix}`}>
      <div
        ref={elementRef}
        className="viewer-viewport"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the viewport (role application) takes keyboard input (handled by ViewerApp)
        tabIndex={0}
        role="application"
        aria-roledescription="image viewport"
        aria-label={`Viewport ${pane + 1}: image ${view.index + 1} of ${imageIds.length}. Arrow keys scroll, ? lists the shortcuts.`}
        data-testid={`viewport${suffix}`}
        onFocus={onActivate}
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
        <div className="bl" data-testid={`overlay-image${suffix}`}>
          <div>{sliceLabels[view.index] ? `Loc ${sliceLabels[view.index]}` : ''}</div>
          Im {imageIds.length ? view.index + 1 : 0}/{imageIds.length} · {sourceLabel}
          {view.playing ? ' · ▶ cine' : ''}
        </div>
        <div className="br" data-testid={`overlay-voi${suffix}`}>
          <div>{orientation}</div>
          {view.voi ? `W ${Math.round(view.voi.width)} L ${Math.round(view.voi.center)}` : ''} · zoom {view.zoom.toFixed(2)}
        </div>
      </div>
      {(error || (loading && imageIds.length > 0)) && (
        <div className="viewer-message" role={error ? 'alert' : 'status'} data-testid={`viewport-message${suffix}`}>
          {error ?? 'Loading image…'}
        </div>
      )}
    </div>
  );
}

/** Resolves once the viewport has drawn, or after `ms` (a viewport without size never draws). */
function drawn(element: HTMLElement, ms = 250): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      element.removeEventListener(CoreEnums.Events.IMAGE_RENDERED, done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    element.addEventListener(CoreEnums.Events.IMAGE_RENDERED, done);
  });
}

function formatDate(value: string): string {
  return /^\d{8}$/.test(value) ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6)}` : value;
}

function describeError(reason: unknown): string {
  const detail = reason as { message?: string; status?: number; request?: { status?: number } } | string | undefined;
  const status = typeof detail === 'object' ? (detail?.status ?? detail?.request?.status) : undefined;
  const message = typeof detail === 'string' ? detail : (detail?.message ?? '');
  if (reason instanceof LoadTimeoutError)
    return `This image cannot be loaded: ${reason.message} (the archive or the decoder did not answer). Other images of the series may still display.`;
  if (status === 401 || status === 403) return 'This image cannot be shown: you are not signed in or not allowed to see it.';
  if (status === 404) return 'This image is no longer in the archive.';
  if (status === 0 || /network|fetch/i.test(message))
    return 'This image cannot be loaded: the network is unreachable and the study is not on this device.';
  return `This image cannot be decoded${message ? ` (${message})` : ''}. Other images of the series may still display.`;
}

/**
 * For tests and benchmarks: where an image point (column x, row y; pixel centres at +0.5) lands on the
 * page. Not Cornerstone's imageToWorldCoords, which swaps the spacings of non-square pixels (image-coords.ts).
 */
export function imageToPage(handle: StackViewerHandle, x: number, y: number): { x: number; y: number } {
  const imageId = handle.viewport.getCurrentImageId();
  const world = imageToWorld(metaData.get('imagePlaneModule', imageId) ?? {}, [x, y]) as Types.Point3;
  const canvas = handle.viewport.worldToCanvas(world);
  const rect = handle.element.getBoundingClientRect();
  return { x: rect.left + canvas[0], y: rect.top + canvas[1] };
}
