/**
 * The route table: which page each section of the app shows, who sees it in the navigation, and
 * which pages load as their own chunk. The only module of the application frame that knows the
 * pages, so the Shell stays the frame (navigation, banners, shortcuts) around whatever is routed.
 */
import { can, type Role } from '@pacs/shared';
import type { ReactNode } from 'react';
import { DashboardPage } from '../dashboard/DashboardPage';
import { Link } from '../router';
import { WorklistPage } from '../worklist/WorklistPage';
import { lazyPage, PageLoader } from './lazy-page';

const admin = lazyPage(() => import('../admin/AdminPage'));
const viewer = lazyPage(() => import('../viewer/ViewerPage'));
const report = lazyPage(() => import('../report/ReportPage'));
const reconcile = lazyPage(() => import('../orders/ReconciliationPage'));
const critical = lazyPage(() => import('../critical/CriticalResultsPage'));
const referrerResults = lazyPage(() => import('../referrer/ReferrerResultsPage'));
const account = lazyPage(() => import('../account/AccountPage'));
const teaching = lazyPage(() => import('../teaching/TeachingPage'));

/** The page a reload or a deep link opens: its chunk starts loading with the app, not after sign-in. */
const startSection = `/${window.location.pathname.split('/')[1] ?? ''}`;
if (startSection === '/viewer') void viewer.preload().catch(() => {});
if (startSection === '/report') void report.preload().catch(() => {});
if (startSection === '/admin') void admin.preload().catch(() => {});

/** Reading pages load when the browser is idle, so the first visit to them does not wait for a chunk. */
export function preloadReadingPages(): () => void {
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

export interface NavItem {
  href: string;
  label: string;
  /** With Alt, opens the section. */
  key: string;
  show: boolean;
}

export function navItems(role: Role): NavItem[] {
  // A referrer's app is their own results and critical results, nothing of the department's.
  const department = can(role, 'study:read');
  return [
    { href: '/', label: department ? 'Dashboard' : 'My results', key: '1', show: true },
    { href: '/worklist', label: 'Worklist', key: '2', show: department },
    { href: '/viewer', label: 'Viewer', key: '3', show: can(role, 'images:read') },
    { href: '/report', label: 'Report', key: '4', show: can(role, 'report:read') },
    { href: '/critical', label: 'Critical', key: '7', show: can(role, 'critical:read') },
    { href: '/reconcile', label: 'Reconcile', key: '6', show: can(role, 'order:reconcile') },
    { href: '/admin', label: 'Admin', key: '5', show: can(role, 'user:manage') },
  ];
}

/** The section of a path: its first segment, `/` for the dashboard. */
export function sectionOf(path: string): string {
  return path === '/' ? '/' : `/${path.split('/')[1]}`;
}

/** What the section shows: its page, "Not allowed" for the admin view without the right, else "Not found". */
export function sectionContent(section: string, role: Role): ReactNode {
  if (section === '/') return can(role, 'study:read') ? <DashboardPage /> : <PageLoader key="results" page={referrerResults} />;
  if (section === '/critical') return <PageLoader key="critical" page={critical} />;
  if (section === '/account') return <PageLoader key="account" page={account} />;
  if (section === '/teaching' && can(role, 'teaching:read')) return <PageLoader key="teaching" page={teaching} />;
  if (section === '/worklist') return <WorklistPage />;
  if (section === '/viewer') return <PageLoader key="viewer" page={viewer} />;
  if (section === '/report') return <PageLoader key="report" page={report} />;
  if (section === '/reconcile') return <PageLoader key="reconcile" page={reconcile} />;
  if (section === '/admin')
    return can(role, 'user:manage') ? (
      <PageLoader key="admin" page={admin} />
    ) : (
      <section className="page">
        <h1>Not allowed</h1>
        <p role="alert">The admin view is for administrators only.</p>
      </section>
    );
  return (
    <section className="page">
      <h1>Not found</h1>
      <p>
        <Link href="/">Go to the dashboard</Link>
      </p>
    </section>
  );
}
