/**
 * The few page actions the WebKit tests need, over WebDriver. `evaluate` has Playwright's shape, so
 * the page hooks of the Chromium tests (editorText, caretAtSection, canvasStats, viewerState…) run
 * unchanged in WebKit through `asPlaywrightPage`.
 */
import type { Page } from 'playwright-core';
import { By, Key, until, type WebDriver } from 'selenium-webdriver';
import { expect } from 'vitest';

const WAIT_MS = 30_000;

/** An XPath string literal for any text (quotes included). */
function xpathLiteral(text: string): string {
  if (!text.includes("'")) return `'${text}'`;
  return `concat(${text
    .split("'")
    .map((part) => `'${part}'`)
    .join(`, "'", `)})`;
}

export class WebKitPage {
  constructor(readonly driver: WebDriver) {}

  /** Runs `fn(arg)` in the page (awaiting a promise) and answers its JSON-able result. */
  async evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
    const outcome = (await this.driver.executeAsyncScript(
      `const done = arguments[arguments.length - 1];
       Promise.resolve().then(() => (${fn.toString()})(arguments[0]))
         .then((value) => done({ value: value === undefined ? null : value }), (error) => done({ error: String(error && error.stack || error) }));`,
      arg ?? null,
    )) as { value?: R; error?: string };
    if (outcome.error) throw new Error(`in the page: ${outcome.error}`);
    return outcome.value as R;
  }

  goto(url: string): Promise<void> {
    return this.driver.get(url);
  }

  reload(): Promise<void> {
    return this.driver.navigate().refresh();
  }

  url(): Promise<string> {
    return this.driver.getCurrentUrl();
  }

  /** The input inside the label whose text contains `label` (optionally within an element). */
  async fill(label: string, value: string, within = '/'): Promise<void> {
    const input = await this.driver.wait(
      until.elementLocated(By.xpath(`${within}/descendant::label[contains(normalize-space(.), ${xpathLiteral(label)})]//input`)),
      WAIT_MS,
    );
    await input.clear();
    await input.sendKeys(value);
  }

  /** Clicks the first enabled button whose text is `name` (or starts with it). */
  async click(name: string, within = '/'): Promise<void> {
    const button = await this.driver.wait(
      until.elementLocated(
        By.xpath(`${within}/descendant::button[starts-with(normalize-space(.), ${xpathLiteral(name)}) and not(@disabled)]`),
      ),
      WAIT_MS,
    );
    await button.click();
  }

  /** Waits until an element matching `css` is there (and answers its text). */
  async waitFor(css: string, timeout = WAIT_MS): Promise<string> {
    const element = await this.driver.wait(until.elementLocated(By.css(css)), timeout);
    return element.getText();
  }

  /** Waits until no element matches `css`. */
  async waitGone(css: string, timeout = WAIT_MS): Promise<void> {
    await expect.poll(() => this.count(css), { timeout }).toBe(0);
  }

  async count(css: string): Promise<number> {
    return (await this.driver.findElements(By.css(css))).length;
  }

  async attribute(css: string, name: string): Promise<string | null> {
    const elements = await this.driver.findElements(By.css(css));
    return elements[0] ? elements[0].getAttribute(name) : null;
  }

  async text(css = 'body'): Promise<string> {
    const elements = await this.driver.findElements(By.css(css));
    return elements[0] ? elements[0].getText() : '';
  }

  /** Types into the focused element, key by key, as a user does. */
  async type(text: string): Promise<void> {
    await this.driver.switchTo().activeElement().sendKeys(text);
  }

  async press(key: keyof typeof Key): Promise<void> {
    await this.driver
      .switchTo()
      .activeElement()
      .sendKeys(Key[key] as string);
  }

  /** For the shared page hooks, which only call `evaluate`. */
  asPlaywrightPage(): Page {
    return this as unknown as Page;
  }
}
