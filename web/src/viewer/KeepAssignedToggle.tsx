/** The "Keep my assigned studies offline" switch and the status of its background run (use-keep-assigned.ts). */
export function KeepAssignedToggle({
  enabled,
  toggle,
  status,
}: {
  enabled: boolean;
  toggle: (on: boolean) => void;
  status: string | null;
}) {
  return (
    <span className="viewer-keep">
      <label className="checkbox">
        <input type="checkbox" checked={enabled} onChange={(event) => toggle(event.target.checked)} /> Keep my assigned studies offline
      </label>
      {status && (
        <span className="muted" data-testid="keep-assigned-status">
          {status}
        </span>
      )}
    </span>
  );
}
