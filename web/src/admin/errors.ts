/** What a page shows for a failed request (`view`: what needs the server, e.g. "Your results"). */
import { ApiError, NetworkError } from '../api/client';

export function errorText(error: unknown, view = 'The admin view'): string {
  if (error instanceof NetworkError) return `${view} needs a connection to the server.`;
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong.';
}

/** Runs a panel's request: clears the panel's error when it succeeds, shows `errorText` when it fails. */
export async function reportingErrors(setError: (message: string | null) => void, request: () => Promise<void>): Promise<void> {
  try {
    await request();
    setError(null);
  } catch (e) {
    setError(errorText(e));
  }
}
