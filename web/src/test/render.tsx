/** A minimal React renderer for component tests (happy-dom; no testing library installed). */
import { act, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';

(globalThis as unknown as { IS_REACT_ACT_ENVIRONMENT: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface Rendered {
  container: HTMLElement;
  rerender(node: ReactNode): void;
  buttons(): string[];
  button(name: string): HTMLButtonElement;
  unmount(): void;
}

export function render(node: ReactNode): Rendered {
  const container = document.createElement('div');
  document.body.append(container);
  let root: Root;
  act(() => {
    root = createRoot(container);
    root.render(node);
  });
  const buttons = () => [...container.querySelectorAll('button')].map((b) => (b.textContent ?? '').trim());
  return {
    container,
    rerender: (next) => act(() => root.render(next)),
    buttons,
    button: (name) => {
      const found = [...container.querySelectorAll('button')].find((b) => (b.textContent ?? '').trim() === name);
      if (!found) throw new Error(`no button "${name}" among ${JSON.stringify(buttons())}`);
      return found;
    },
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    },
  };
}

export function click(element: HTMLElement): void {
  act(() => element.click());
}

/** Sets a controlled input's value the way React notices. */
export function type(element: HTMLTextAreaElement | HTMLInputElement, value: string): void {
  const proto = element instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  act(() => {
    Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(element, value);
    element.dispatchEvent(new Event('input', { bubbles: true }));
  });
}
