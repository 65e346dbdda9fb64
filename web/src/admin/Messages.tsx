/** The admin panels' status lines: a failed request (an alert) and what just succeeded. */

/** Nothing while `message` is empty. */
export function ErrorAlert({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

/** Nothing while `message` is empty. */
export function Notice({ message, testId }: { message: string | null; testId: string }) {
  if (!message) return null;
  return (
    <output className="notice" data-testid={testId}>
      {message}
    </output>
  );
}
