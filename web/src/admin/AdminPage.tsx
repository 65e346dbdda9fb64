/**
 * Admin view (role admin only; the API enforces the same through `can()`). Online only. Loaded as
 * its own chunk (the route table, app/routes.tsx, lazy-imports this module).
 */
import { can } from '@pacs/shared';
import { SessionsAndDevices } from '../account/SessionsAndDevices';
import { useWorkspace } from '../device/workspace';
import { navigate, usePath } from '../router';
import { AuditPanel } from './AuditPanel';
import { EmergencyAccessPanel } from './EmergencyAccessPanel';
import { InterfacesPanel } from './InterfacesPanel';
import { SingleSignOnPanel } from './SingleSignOnPanel';
import { SystemPanel } from './SystemPanel';
import { TemplatesPanel } from './TemplatesPanel';
import { UsersPanel } from './UsersPanel';

const TABS = [
  { id: 'users', label: 'Users' },
  { id: 'sso', label: 'Single sign-on' },
  { id: 'sessions', label: 'Sessions and devices' },
  { id: 'audit', label: 'Audit log' },
  { id: 'templates', label: 'Report templates' },
  { id: 'interfaces', label: 'Interfaces' },
  { id: 'emergency-access', label: 'Emergency access' },
  { id: 'system', label: 'System status' },
] as const;

export default function AdminPage() {
  const { user } = useWorkspace();
  const path = usePath();
  const tab = TABS.find((t) => path === `/admin/${t.id}`)?.id ?? 'users';
  if (!can(user.role, 'user:manage')) {
    return (
      <section className="page">
        <h1>Not allowed</h1>
      </section>
    );
  }
  return (
    <section className="page" aria-labelledby="admin-title">
      <h1 id="admin-title">Admin</h1>
      <div className="tabs" role="tablist" aria-label="Admin sections">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            onClick={() => navigate(`/admin/${t.id}`)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'users' && <UsersPanel me={user} />}
        {tab === 'sso' && <SingleSignOnPanel />}
        {tab === 'sessions' && <SessionsAndDevices scope={{ kind: 'admin' }} />}
        {tab === 'audit' && <AuditPanel />}
        {tab === 'templates' && <TemplatesPanel />}
        {tab === 'interfaces' && <InterfacesPanel />}
        {tab === 'system' && <SystemPanel />}
        {tab === 'emergency-access' && can(user.role, 'privacy:review') && <EmergencyAccessPanel />}
      </div>
    </section>
  );
}
