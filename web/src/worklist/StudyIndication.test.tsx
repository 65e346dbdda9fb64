import { afterEach, describe, expect, it } from 'vitest';
import { type Rendered, render } from '../test/render';
import { StudyIndication } from './StudyIndication';

let view: Rendered | null = null;
afterEach(() => {
  view?.unmount();
  view = null;
});

describe('StudyIndication', () => {
  it('shows the order’s reason for exam as text, markup in it included', () => {
    view = render(<StudyIndication indication={'Verdacht auf Blutung <img src=x onerror=alert(1)>'} />);
    const shown = view.container.querySelector('[data-testid="indication"]')!;
    expect(shown.textContent).toBe('Indication: Verdacht auf Blutung <img src=x onerror=alert(1)>');
    expect(shown.querySelector('img')).toBeNull();
  });

  it.each([null, undefined, ''])('shows nothing without an indication (%s)', (indication) => {
    view = render(<StudyIndication indication={indication} />);
    expect(view.container.innerHTML).toBe('');
  });
});
