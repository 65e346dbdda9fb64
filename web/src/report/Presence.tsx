/** Who is in the report right now (awareness states), with their caret colour. */
import type { Peer } from './connection';

export function Presence({ peers }: { peers: readonly Peer[] }) {
  return (
    <ul className="report-presence" aria-label="People in this report">
      {peers.map((peer) => (
        <li key={peer.clientId} data-testid="presence">
          <span className="swatch" style={{ background: peer.color }} aria-hidden="true" />
          {peer.name}
          {peer.self ? ' (you)' : ''} <span className="muted">· {peer.role}</span>
        </li>
      ))}
    </ul>
  );
}
