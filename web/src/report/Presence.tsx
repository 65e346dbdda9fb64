/** Who is in the report right now (awareness states), with their caret colour. */
import type { PresenceUser } from './connection';

export function Presence({ users }: { users: readonly PresenceUser[] }) {
  return (
    <ul className="report-presence" aria-label="People in this report">
      {users.map((user) => (
        <li key={user.clientId} data-testid="presence">
          <span className="swatch" style={{ background: user.color }} aria-hidden="true" />
          {user.name}
          {user.self ? ' (you)' : ''} <span className="muted">· {user.role}</span>
        </li>
      ))}
    </ul>
  );
}
