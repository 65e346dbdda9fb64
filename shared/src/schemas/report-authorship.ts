/**
 * Who wrote what in a report: every character of the current text attributed to the user whose
 * editor typed it (the sync-server binds each Yjs client id to the token's user), and what each
 * user deleted of whose text. Deleted text itself is not kept by the live document (Yjs collects
 * it); the versions keep the text as it was at submit, return and final.
 */
import { type Static, Type } from 'typebox';
import { Uuid } from './common';

export const AuthorshipRun = Type.Object({
  text: Type.String(),
  /** The author's user id, `template` for seeded text, null when unknown (typed before authorship was recorded). */
  userId: Type.Union([Type.String(), Type.Null()]),
  /**
   * Set when this text came under the author's client id through another user's connection (a
   * client resending what the server lost, or a forgery): the attribution is not proven.
   */
  relayedBy: Type.Optional(Type.String()),
});
export type AuthorshipRun = Static<typeof AuthorshipRun>;

export const ReportAuthor = Type.Object({
  userId: Type.String(),
  name: Type.String(),
  /** The Yjs client ids bound to this user in this document (the editor colours text by them). */
  clientIds: Type.Array(Type.Integer({ minimum: 0 })),
  /** Characters of the current text this user wrote. */
  written: Type.Integer({ minimum: 0 }),
  /** Characters (of anyone's text) this user deleted. */
  deleted: Type.Integer({ minimum: 0 }),
});
export type ReportAuthor = Static<typeof ReportAuthor>;

export const ReportAuthorship = Type.Object(
  {
    reportId: Uuid,
    authors: Type.Array(ReportAuthor),
    sections: Type.Array(Type.Object({ key: Type.String(), title: Type.String(), runs: Type.Array(AuthorshipRun) })),
    /** Per deleting user and author of the deleted text: how many characters. */
    deletions: Type.Array(
      Type.Object({
        byUserId: Type.String(),
        ofUserId: Type.Union([Type.String(), Type.Null()]),
        characters: Type.Integer({ minimum: 1 }),
      }),
    ),
  },
  { $id: 'ReportAuthorship' },
);
export type ReportAuthorship = Static<typeof ReportAuthorship>;
