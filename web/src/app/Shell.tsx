import { Suspense, useEffect, useRef, useState } from 'react';
import { session } from '../auth/session';
import { CriticalBanner } from '../critical/CriticalBanner';
import { useWorkspace } from '../device/workspace';
import { Link, navigate, usePath } from '../router';
import { EmergencyAccessBanner } from '../worklist/BreakGlassDialog';
import { OutboxIssues } from '../worklist/OutboxIssues';
import { StatBanner } from '../worklist/StatBanner';
import { ConnectionIndicator } from './ConnectionIndicator';
import { navItems, preloadReadingPages, sectionContent, sectionOf } from './routes';
import { ShortcutHelp } from './ShortcutHelp';
import { StorageBanner } from './StorageBanner';

/** The application frame around the routed page: navigation, connection state, banners, keyboard shortcuts. */
export function Shell() {
  const { user, engine } = useWorkspace();
  const path = usePath();
  const [help, setHelp] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  useEffect(preloadReadingPages, []);
  const items = navItems(user.role);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      const typing = target && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA');
      if (event.altKey && !event.ctrlKey && !event.metaKey) {
        const item = items.find((i) => i.key === event.key && i.show);
        if (item) {
          event.preventDefault();
          navigate(item.href);
        } else if (event.key.toLowerCase() === 's') {
          event.preventDefault();
          void engine.syncNow();
        }
        return;
      }
      if (typing) return;
      if (event.key === '?') setHelp((h) => !h);
      if (event.key === 'Escape') setHelp(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const section = sectionOf(path);
  const active = items.find((i) => i.href === section);
  // eslint-style: focus main content on route change for screen readers and keyboards
  useEffect(() => {
    if (active) document.title = `${active.label} · PACS`;
  }, [active]);

  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand" aria-hidden="true">
          PACS
        </span>
        <nav aria-label="Main">
          <ul>
            {items
              .filter((i) => i.show)
              .map((item) => (
                <li key={item.href}>
                  <Link
                    href={item.href}
                    aria-current={item.href === section ? 'page' : undefined}
                    aria-keyshortcuts={`Alt+${item.key}`}
                    title={`${item.label} (Alt+${item.key})`}
                  >
                    {item.label}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
        <ConnectionIndicator />
        <div className="user">
          <Link className="user-name" href="/account" title={`${user.name} (${user.role}), ${user.email}: my account`}>
            {user.name} <span className="muted user-role">· {user.role}</span>
          </Link>
          <button type="button" onClick={() => void session.logout()}>
            Sign out
          </button>
        </div>
      </header>
      <StorageBanner />
      <StatBanner />
      <EmergencyAccessBanner />
      <CriticalBanner role={user.role} />
      <OutboxIssues />
      <main id="main" ref={mainRef} tabIndex={-1}>
        <Suspense
          fallback={
            <p className="page" aria-busy="true">
              Loading…
            </p>
          }
        >
          {sectionContent(section, user.role)}
        </Suspense>
      </main>
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
    </div>
  );
}
