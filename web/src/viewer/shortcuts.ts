/**
 * The viewer's tools, CT window presets and keyboard shortcuts as data: the toolbar, the help popover,
 * `aria-keyshortcuts` and the key handler all read them from here. Pure (no Cornerstone), unit-tested.
 */

/** Cornerstone3D tool names (the `toolName` of each tool class; StackViewer checks they match). */
export type PrimaryTool = 'WindowLevel' | 'Pan' | 'Zoom' | 'StackScroll' | 'Length' | 'Angle' | 'EllipticalROI';

export const PRIMARY_TOOLS: readonly { tool: PrimaryTool; label: string; key: string }[] = [
  { tool: 'WindowLevel', label: 'W/L', key: 'w' },
  { tool: 'Pan', label: 'Pan', key: 'p' },
  { tool: 'Zoom', label: 'Zoom', key: 'z' },
  { tool: 'StackScroll', label: 'Scroll', key: 's' },
  { tool: 'Length', label: 'Length', key: 'l' },
  { tool: 'Angle', label: 'Angle', key: 'a' },
  { tool: 'EllipticalROI', label: 'Ellipse ROI', key: 'e' },
];

/** CT windows in HU (center/width), keys 1–4. */
export const CT_PRESETS: Readonly<Record<string, { center: number; width: number }>> = {
  brain: { center: 40, width: 80 },
  lung: { center: -600, width: 1500 },
  bone: { center: 480, width: 2500 },
  abdomen: { center: 40, width: 400 },
};

export type ViewerAction =
  | { type: 'scroll'; delta: number }
  | { type: 'tool'; tool: PrimaryTool }
  | { type: 'preset'; name: string }
  | { type: 'reset' }
  | { type: 'invert' }
  | { type: 'rotate' }
  | { type: 'flipH' }
  | { type: 'flipV' }
  | { type: 'cine' }
  | { type: 'help' };

const FIXED: Readonly<Record<string, ViewerAction>> = {
  ArrowUp: { type: 'scroll', delta: -1 },
  ArrowLeft: { type: 'scroll', delta: -1 },
  ArrowDown: { type: 'scroll', delta: 1 },
  ArrowRight: { type: 'scroll', delta: 1 },
  PageUp: { type: 'scroll', delta: -10 },
  PageDown: { type: 'scroll', delta: 10 },
  Home: { type: 'scroll', delta: Number.NEGATIVE_INFINITY },
  End: { type: 'scroll', delta: Number.POSITIVE_INFINITY },
  r: { type: 'reset' },
  i: { type: 'invert' },
  t: { type: 'rotate' },
  h: { type: 'flipH' },
  v: { type: 'flipV' },
  c: { type: 'cine' },
  '?': { type: 'help' },
};

/** The action for a key press in a viewport (no modifiers), or null. Presets only on CT. */
export function actionForKey(key: string, { ct }: { ct: boolean }): ViewerAction | null {
  const fixed = FIXED[key] ?? FIXED[key.toLowerCase()];
  if (fixed && key.length === 1 && key !== key.toLowerCase() && key !== '?') return null; // Shift+letter: leave it to the browser
  if (fixed) return fixed;
  const tool = PRIMARY_TOOLS.find((t) => t.key === key);
  if (tool) return { type: 'tool', tool: tool.tool };
  const presetNames = Object.keys(CT_PRESETS);
  const n = Number(key);
  if (ct && Number.isInteger(n) && n >= 1 && n <= presetNames.length) return { type: 'preset', name: presetNames[n - 1]! };
  return null;
}

/** What the help popover lists, in order. */
export const SHORTCUT_HELP: readonly { keys: string; what: string }[] = [
  { keys: '↑ ↓ ← →', what: 'previous / next image' },
  { keys: 'PageUp PageDown', what: '10 images back / forward' },
  { keys: 'Home End', what: 'first / last image' },
  ...PRIMARY_TOOLS.map((t) => ({ keys: t.key.toUpperCase(), what: `${t.label} tool on the left button and one finger` })),
  { keys: '1 2 3 4', what: `CT window: ${Object.keys(CT_PRESETS).join(', ')}` },
  { keys: 'I', what: 'invert' },
  { keys: 'T', what: 'rotate 90° clockwise' },
  { keys: 'H V', what: 'flip horizontally / vertically' },
  { keys: 'C', what: 'cine play / stop' },
  { keys: 'R', what: 'reset the view' },
  { keys: '?', what: 'this help' },
  { keys: 'Mouse', what: 'wheel: scroll · right drag: zoom · middle drag: pan' },
  { keys: 'Touch', what: 'one finger: the chosen tool · two fingers: pinch to zoom, move to pan' },
];
