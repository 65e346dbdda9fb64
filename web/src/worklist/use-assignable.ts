/** The radiologists a study can be handed to, read once while online; empty offline or for a role that cannot. */
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { AssignableUser, AssignableUsers } from '../api/types';

export function useAssignable(enabled: boolean): AssignableUser[] {
  const [users, setUsers] = useState<AssignableUser[]>([]);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    api
      .request<AssignableUsers>('GET', '/api/users/assignable')
      .then((answer) => live && setUsers(answer.users))
      // Offline or refused: the picker stays hidden; "Assign to me" still works through the outbox.
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [enabled]);
  return users;
}
