/**
 * Why the study was ordered (the order's reason for exam), where the radiologist reads and writes:
 * the viewer's study bar and the report. Nothing when there is no order or no reason given.
 */
export function StudyIndication({ indication }: { indication: string | null | undefined }) {
  if (!indication) return null;
  return (
    <p className="study-indication" data-testid="indication">
      <span className="muted">Indication:</span> {indication}
    </p>
  );
}
