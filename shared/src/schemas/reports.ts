/**
 * Reports, templates, document sessions: the request and response shapes of the reporting routes.
 *
 * The report text itself lives in a Yjs document (`report:<id>`) while it is edited; see
 * REPORT_DOCUMENT_SHAPE for the shape the API seeds and the web editor must use.
 */
import { type Static, Type } from 'typebox';
import { DOCUMENT_MODES } from '../sync-protocol';
import { REPORT_STATUSES } from '../workflow';
import { ErrorCodeSchema, IsoDateTime, Uuid } from './common';

/**
 * The Yjs document of a report is what Tiptap's Collaboration extension (y-prosemirror) edits:
 * `ydoc.getXmlFragment('default')` holding ProseMirror nodes of StarterKit's schema:
 * `heading` (attribute `level`: 2 for section headings), `paragraph`, `bulletList`, `orderedList`,
 * `listItem`, text with the marks `bold` and `italic` (Y.XmlText formatting attributes `{ bold: {} }`).
 * Each section starts with a level-2 heading whose text is the section title.
 */
export const REPORT_DOCUMENT_SHAPE = {
  fragment: 'default',
  sectionHeadingLevel: 2,
} as const;

/** Standard sections, in order. Templates may define others. */
export const REPORT_SECTIONS = [
  { key: 'clinical-history', title: 'Clinical history' },
  { key: 'technique', title: 'Technique' },
  { key: 'comparison', title: 'Comparison' },
  { key: 'findings', title: 'Findings' },
  { key: 'impression', title: 'Impression' },
] as const;

const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 8 * 1024 * 1024, description: 'standard base64' });

export const ReportStatusSchema = Type.Enum(REPORT_STATUSES);

// ---------------------------------------------------------------- templates

/** A coded concept (e.g. RadLex `RID…`) on a section or a fill-in field, kept into the signed content. */
export const ConceptCode = Type.Object(
  {
    scheme: Type.String({ pattern: '^[A-Za-z0-9._-]{1,32}$', description: 'coding scheme designator, e.g. RADLEX' }),
    value: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$' }),
    meaning: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type ConceptCode = Static<typeof ConceptCode>;

/** A fill-in field: free text, or a pick list when `choices` is given. */
export const TemplateField = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$', description: 'unique within the template' }),
    label: Type.String({ minLength: 1, maxLength: 80 }),
    kind: Type.Union([Type.Literal('text'), Type.Literal('choice')]),
    choices: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 50, uniqueItems: true })),
    required: Type.Optional(Type.Boolean()),
    /** Seeded as the field's value. For a pick list, one of the choices. */
    default: Type.Optional(Type.String({ maxLength: 2000 })),
    code: Type.Optional(ConceptCode),
  },
  { additionalProperties: false },
);
export type TemplateField = Static<typeof TemplateField>;

/** A procedure code an order may name (OBR-4 / the order's procedure), which picks the template. */
export const ProcedureCode = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$' });

export const TemplateSection = Type.Object(
  {
    key: Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$' }),
    title: Type.String({ minLength: 1, maxLength: 80 }),
    /** Text seeded into the section (e.g. a normal finding). It becomes report text. */
    defaultText: Type.Optional(Type.String({ maxLength: 20000 })),
    /** A hint for the editor (shown, never seeded). */
    placeholder: Type.Optional(Type.String({ maxLength: 400 })),
    /** Phrases the editor offers to insert. */
    picklist: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 400 }), { maxItems: 50 })),
    /** Fill-in fields, each seeded as a "label: value" line after the default text. */
    fields: Type.Optional(Type.Array(TemplateField, { maxItems: 40 })),
    code: Type.Optional(ConceptCode),
  },
  { additionalProperties: false },
);
export type TemplateSection = Static<typeof TemplateSection>;

const Modality = Type.String({ pattern: '^[A-Z]{2,4}$' });

export const Template = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    modalities: Type.Array(Type.String()),
    bodyPart: Type.String({ description: 'empty: any body part' }),
    sections: Type.Array(TemplateSection),
    procedureCodes: Type.Array(Type.String(), { description: 'orders naming one of these get this template first' }),
    builtIn: Type.Boolean(),
    retired: Type.Boolean(),
    retiredAt: Type.Union([IsoDateTime, Type.Null()]),
    version: Type.Integer(),
    createdAt: IsoDateTime,
    updatedAt: IsoDateTime,
  },
  { $id: 'Template' },
);
export type Template = Static<typeof Template>;

/**
 * Reading a study's report: `purpose=device-copy` when a device downloads it to hold offline (its
 * user did not open it: the audit row says so, and the study does not count as opened).
 */
export const StudyReportQuery = Type.Object(
  { purpose: Type.Optional(Type.Literal('device-copy', { description: 'a device downloading the report to hold offline' })) },
  { additionalProperties: false },
);
export type StudyReportQuery = Static<typeof StudyReportQuery>;

export const TemplateListQuery = Type.Object(
  {
    modality: Type.Optional(Modality),
    includeRetired: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);
export type TemplateListQuery = Static<typeof TemplateListQuery>;

export const TemplateList = Type.Object({ items: Type.Array(Template) });
export type TemplateList = Static<typeof TemplateList>;

export const TemplateCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 120 }),
    modalities: Type.Array(Modality, { minItems: 1, maxItems: 10 }),
    bodyPart: Type.Optional(Type.String({ maxLength: 64 })),
    sections: Type.Array(TemplateSection, { minItems: 1, maxItems: 20 }),
    procedureCodes: Type.Optional(Type.Array(ProcedureCode, { maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type TemplateCreate = Static<typeof TemplateCreate>;

/** An IHE MRRT template (HTML5) to import; modalities and body part when the file does not name ours. */
export const MrrtImport = Type.Object(
  {
    html: Type.String({ minLength: 1, maxLength: 512 * 1024 }),
    modalities: Type.Optional(Type.Array(Modality, { minItems: 1, maxItems: 10 })),
    bodyPart: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type MrrtImport = Static<typeof MrrtImport>;

/** Edit or retire (`retired: true`); templates are never deleted. */
export const TemplatePatch = Type.Object(
  {
    version: Type.Integer({ minimum: 1, description: 'the version you saw; a stale one gets 409' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    modalities: Type.Optional(Type.Array(Modality, { minItems: 1, maxItems: 10 })),
    bodyPart: Type.Optional(Type.String({ maxLength: 64 })),
    sections: Type.Optional(Type.Array(TemplateSection, { minItems: 1, maxItems: 20 })),
    procedureCodes: Type.Optional(Type.Array(ProcedureCode, { maxItems: 20 })),
    retired: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 2 },
);
export type TemplatePatch = Static<typeof TemplatePatch>;

// ---------------------------------------------------------------- reports

export const ReportSignature = Type.Object({
  userId: Uuid,
  name: Type.String(),
  signedAt: IsoDateTime,
  attestation: Type.Optional(Type.String()),
});
export type ReportSignature = Static<typeof ReportSignature>;

export const ReportSectionText = Type.Object({ key: Type.String(), title: Type.String(), text: Type.String() });
export type ReportSectionText = Static<typeof ReportSectionText>;

/** Signed content (final reports only). */
export const ReportContent = Type.Object({
  /** ProseMirror JSON of the signed document. */
  doc: Type.Unknown(),
  sections: Type.Array(ReportSectionText),
  text: Type.String(),
  /** SHA-256 (hex) over the canonical serialisation of content and signature. */
  hash: Type.String(),
});
export type ReportContent = Static<typeof ReportContent>;

/** The installation's Ed25519 signature of a signed report, as checked on this read. */
export const InstallationSignature = Type.Object({
  algorithm: Type.Literal('Ed25519'),
  keyId: Type.String({ description: "the signing key's id: first 16 bytes of the SHA-256 of its public key, hex" }),
  value: Type.String({ description: 'the signature, base64' }),
  status: Type.Union([Type.Literal('valid'), Type.Literal('invalid'), Type.Literal('unknown-key')]),
  /** current: the key signing today; retired: an earlier key still trusted; null: a key this installation does not trust. */
  key: Type.Union([Type.Literal('current'), Type.Literal('retired'), Type.Null()]),
});
export type InstallationSignature = Static<typeof InstallationSignature>;

export const ReportIntegrity = Type.Object({
  /** null: nothing signed yet; true: hash and signature match; false: ALARM, content or signature was altered. */
  verified: Type.Union([Type.Boolean(), Type.Null()]),
  /** null: nothing signed yet, or a signed report whose signature is missing (then `verified` is false). */
  signature: Type.Union([InstallationSignature, Type.Null()]),
});
export type ReportIntegrity = Static<typeof ReportIntegrity>;

const reportFields = {
  id: Uuid,
  studyId: Uuid,
  parentReportId: Type.Union([Uuid, Type.Null()]),
  status: ReportStatusSchema,
  document: Type.String({ description: 'Yjs document name, report:<id>' }),
  templateId: Type.Union([Uuid, Type.Null()]),
  authorId: Uuid,
  version: Type.Integer(),
  locked: Type.Boolean(),
  preliminarySignature: Type.Union([ReportSignature, Type.Null()]),
  finalSignature: Type.Union([ReportSignature, Type.Null()]),
  returnComment: Type.Union([Type.String(), Type.Null()]),
  content: Type.Union([ReportContent, Type.Null()]),
  integrity: ReportIntegrity,
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
};

export const Addendum = Type.Object(reportFields, { $id: 'Addendum' });
export type Addendum = Static<typeof Addendum>;

export const Report = Type.Object({ ...reportFields, addenda: Type.Array(Addendum) }, { $id: 'Report' });
export type Report = Static<typeof Report>;

export const ReportCreate = Type.Object({ templateId: Type.Optional(Uuid) }, { additionalProperties: false });
export type ReportCreate = Static<typeof ReportCreate>;

/** The largest seed a device may send: a template's document is a few kilobytes. */
export const OFFLINE_SEED_MAX_CHARS = 256 * 1024;

/** A report a device started offline, sent when it is back online (the server then adopts it). */
export const ReportOfflineStart = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'the id the device gave the report (crypto.randomUUID)' }),
    templateId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
      description: 'the template the device seeded the document from; null: the fallback sections',
    }),
    seed: Type.String({
      minLength: 1,
      maxLength: OFFLINE_SEED_MAX_CHARS,
      pattern: '^[A-Za-z0-9+/]+={0,2}$',
      description: "the Yjs update (base64) that seeded the device's document, before anything was typed",
    }),
  },
  { additionalProperties: false },
);
export type ReportOfflineStart = Static<typeof ReportOfflineStart>;

/** 409 REPORT_EXISTS: the study's report, started elsewhere while the device was offline. */
export const ReportStartedElsewhere = Type.Object({
  statusCode: Type.Literal(409),
  error: Type.String(),
  message: Type.String(),
  code: ErrorCodeSchema,
  requestId: Type.Optional(Type.String()),
  reportId: Type.Optional(Type.String({ format: 'uuid' })),
});
export type ReportStartedElsewhere = Static<typeof ReportStartedElsewhere>;

export const ReportSubmit = Type.Object(
  { version: Type.Optional(Type.Integer({ minimum: 1, description: 'the version you saw; a stale one gets 409' })) },
  { additionalProperties: false },
);
export type ReportSubmit = Static<typeof ReportSubmit>;

export const ReportReturn = Type.Object(
  {
    comment: Type.String({ minLength: 1, maxLength: 4000 }),
    version: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type ReportReturn = Static<typeof ReportReturn>;

export const ReportFinalize = Type.Object(
  {
    /** Y.encodeStateVector of the document the attending reviewed. */
    stateVector: Base64,
    /** Y.encodeSnapshot(Y.snapshot(doc)) of that document: also catches deletions not seen. Recommended. */
    snapshot: Type.Optional(Base64),
  },
  { additionalProperties: false },
);
export type ReportFinalize = Static<typeof ReportFinalize>;

export const AddendumCreate = Type.Object(
  { text: Type.Optional(Type.String({ maxLength: 20000, description: 'initial text (e.g. from late edits), one paragraph per line' })) },
  { additionalProperties: false },
);
export type AddendumCreate = Static<typeof AddendumCreate>;

export const ReportSession = Type.Object({
  token: Type.String({ description: 'document token for the sync-server (query parameter `token`)' }),
  document: Type.String(),
  mode: Type.Enum(DOCUMENT_MODES),
  expiresAt: IsoDateTime,
});
export type ReportSession = Static<typeof ReportSession>;

export const ReportLateEdits = Type.Object({
  lateEdits: Type.Array(
    Type.Object({ id: Type.String(), userId: Type.String(), userName: Type.String(), receivedAt: IsoDateTime, update: Base64 }),
  ),
});
export type ReportLateEdits = Static<typeof ReportLateEdits>;

/** 409 of finalize when the document holds edits the attending has not seen: nothing was locked. */
export const ReportConflict = Type.Object({
  statusCode: Type.Literal(409),
  error: Type.String(),
  message: Type.String(),
  code: ErrorCodeSchema,
  requestId: Type.Optional(Type.String()),
  /** The server's state vector (base64) when code is UNSEEN_UPDATES. */
  stateVector: Type.Optional(Type.String()),
  /** The empty required fields when code is REQUIRED_FIELDS_EMPTY, in document order. */
  fields: Type.Optional(Type.Array(Type.Object({ id: Type.String(), label: Type.String() }))),
});
export type ReportConflict = Static<typeof ReportConflict>;

/** A signed report and its signed addenda, each checked now: hash and installation signature. */
export const ReportVerification = Type.Object(
  {
    reportId: Uuid,
    /** Every signed part verifies. */
    verified: Type.Boolean(),
    parts: Type.Array(
      Type.Object({
        reportId: Uuid,
        kind: Type.Union([Type.Literal('report'), Type.Literal('addendum')]),
        signedBy: Type.String(),
        signedAt: IsoDateTime,
        contentHash: Type.String(),
        integrity: ReportIntegrity,
      }),
    ),
  },
  { $id: 'ReportVerification' },
);
export type ReportVerification = Static<typeof ReportVerification>;

/** Whether a PDF someone holds is, byte for byte, one this installation sealed. */
export const PdfVerification = Type.Object(
  {
    authentic: Type.Boolean(),
    /** Why not, in words. */
    reason: Type.Optional(Type.String()),
    keyId: Type.Optional(Type.String()),
    key: Type.Optional(Type.Union([Type.Literal('current'), Type.Literal('retired')])),
    /** The report the sealed PDF shows, and its status when it was drawn. */
    reportId: Type.Optional(Uuid),
    status: Type.Optional(Type.String()),
  },
  { $id: 'PdfVerification' },
);
export type PdfVerification = Static<typeof PdfVerification>;
