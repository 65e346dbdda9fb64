/** What the admin panels show for a failed request. */
import { ApiError, NetworkError } from '../api/client';

export function errorText(error: unknown): string {
  if (error instanceof NetworkError) return 'The admin view needs a connection to the server.';
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong.';
}
