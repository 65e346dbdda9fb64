import { can } from '@pacs/shared';
import { Suspense, useEffect, useRef, useState } from 'react';
import { session } from '../auth/session';
import { DashboardPage } from '../pages/Dashboard';
import { WorklistPage } from '../pages/Worklist';
import { Link, navigate, usePath } from '../router';
import { useWorkspace } from '../workspace';
import { ConnectionIndicator } from './ConnectionIndicator';
import { lazyPage, PageLoader } from './lazy-page';
import { OutboxIssues } from './OutboxIssues';
import { StatBanner } from './StatBanner';
import { StorageBanner } from './StorageBanner';

const admin = lazyPage(() => import('../pages/Admin'));
const viewer = lazyPage(() => import('../pages/Viewer'));
const report = lazyPage(() => import('../pages/Report'));

/** The page a reload or a deep link opens: its chunk starts loading with the app, not after sign-in. */
const startSection = `/${window.location.pathname.split('/')[1] ?? ''}`;
if (startSection === '/viewer') void viewer.preload().catch(() => {});
if (startSection === '/report') void report.preload().catch(() => {});
if (startSection === '/admin') void admin.preload().catch(() => {});

/** Reading pages load when the browser is idle, so the first visit to them does not wait for a chunk. */
function preloadReadingPages(): () => void {
  const run = () => {
    void report.preload().catch(() => {});
    void viewer.preload().catch(() => {});
  };
  if (typeof window.requestIdleCallback === 'function') {
    const id = window.requestIdleCallback(run, { timeout: 10_000 });
    return () => window.cancelIdleCallback(id);
  }
  const timer = window.setTimeout(run, 3000);
  return () => window.clearTimeout(timer);
}

interface NavItem {
  href: string;
  label: string;
  key: string;
  show: boolean;
}

export function Shell() {
  const { user, engine } = useWorkspace();
  const path = usePath();
  const [help, setHelp] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  useEffect(preloadReadingPages, []);
  const items: NavItem[] = [
    { href: '/', label: 'Dashboard', key: '1', show: true },
    { href: '/worklist', label: 'Worklist', key: '2', show: can(user.role, 'study:read') },
    { href: '/viewer', label: 'Viewer', key: '3', show: true },
    { href: '/report', label: 'Report', key: '4', show: true },
    { href: '/admin', label: 'Admin', key: '5', show: can(user.role, 'user:manage') },
  ];

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

  const section = path === '/' ? '/' : `/${path.split('/')[1]}`;
  const active = items.find((i) => i.href === section);
  // eslint-style: focus main content on route change for screen readers and keyboards
  useEffect(() => {
    if (active) document.title = `${active.label} · PACS`;
  }, [active]);

  let content: React.ReactNode;
  if (section === '/') content = <DashboardPage />;
  else if (section === '/worklist') content = <WorklistPage />;
  else if (section === '/viewer') content = <PageLoader key="viewer" page={viewer} />;
  else if (section === '/report') content = <PageLoader key="report" page={report} />;
  else if (section === '/admin')
    content = can(user.role, 'user:manage') ? (
      <PageLoader key="admin" page={admin} />
    ) : (
      <section className="page">
        <h1>Not allowed</h1>
        <p role="alert">The admin view is for administrators only.</p>
      </section>
    );
  else
    content = (
      <section className="page">
        <h1>Not found</h1>
        <p>
          <Link href="/">Go to the dashboard</Link>
        </p>
      </section>
    );

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
          <span className="user-name" title={user.email}>
            {user.name} <span className="muted">· {user.role}</span>
          </span>
          <button type="button" onClick={() => void session.logout()}>
            Sign out
          </button>
        </div>
      </header>
      <StorageBanner />
      <StatBanner />
      <OutboxIssues />
      <main id="main" ref={mainRef} tabIndex={-1}>
        <Suspense
          fallback={
            <p className="page" aria-busy="true">
              Loading…
            </p>
          }
        >
          {content}
        </Suspense>
      </main>
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
    </div>
  );
}

function ShortcutHelp({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal?.();
  }, []);
  return (
    <dialog ref={ref} className="card dialog" aria-labelledby="shortcuts-title" onClose={onClose}>
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <dl className="shortcuts">
        <dt>Alt+1 … Alt+5</dt>
        <dd>Dashboard, Worklist, Viewer, Report, Admin</dd>
        <dt>Alt+S</dt>
        <dd>Sync now</dd>
        <dt>/</dt>
        <dd>Search the worklist</dd>
        <dt>↑ ↓ or j k</dt>
        <dd>Move through worklist rows</dd>
        <dt>Enter</dt>
        <dd>Show the selected study's details</dd>
        <dt>a</dt>
        <dd>Assign the selected study to me</dd>
        <dt>?</dt>
        <dd>This help</dd>
      </dl>
      <button type="button" onClick={onClose}>
        Close
      </button>
    </dialog>
  );
}
