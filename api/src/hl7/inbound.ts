/**
 * One inbound HL7 message, from bytes to acknowledgement:
 * read (character set, header checks) → a repeat of a message already answered gets that same
 * answer and changes nothing → the handler for its type applies it inside a transaction → the
 * message, its outcome and the answer are stored, with one audit row, in that same transaction.
 * When the handler refuses (AE) its changes roll back and the message is stored with the refusal;
 * a message that cannot be read or has no handler is rejected (AR) and stored the same way.
 * Never throws: a fault of ours answers AE 207 and is logged without the message's content.
 */
import { randomUUID } from 'node:crypto';
import { Hl7Message } from '@medplum/core';
import type { AuditEventId } from '@pacs/shared';
import type { FastifyBaseLogger } from 'fastify';
import { type Transaction, UniqueConstraintError } from 'sequelize';
import type { AuditRecorder } from '../audit/recorder';
import type { Models } from '../db/models';
import type { Hl7Outcome } from '../db/order-models';
import { type AckContent, acknowledgement, type Responder } from './acknowledgement';
import { encodeText, type MessageHeader, messageTypeOf, readMessage } from './message-reader';

export type HandlerResult =
  | { readonly ok: true; readonly patientId?: string; readonly studyUid?: string; readonly details: Record<string, unknown> }
  | { readonly ok: false; readonly errorCode: string; readonly reason: string; readonly patientId?: string };

export interface InboundHandler {
  /** The audit event the message's effect is recorded under. */
  readonly eventId: AuditEventId;
  apply(message: Hl7Message, header: MessageHeader, transaction: Transaction): Promise<HandlerResult>;
}

/** Handlers by message type as MSH-9 names it, `ORM^O01`. */
export type InboundHandlers = Readonly<Record<string, InboundHandler>>;

export interface InboundOptions {
  responder: Responder;
  /** How bytes are read when MSH-18 is empty and they are not valid UTF-8. */
  fallbackCharset: string;
}

interface Stored {
  outcome: Hl7Outcome;
  ack: Hl7Message;
  ackContent: AckContent;
  header: Partial<MessageHeader>;
  text: string;
  charset: string;
}

class Refused extends Error {
  constructor(readonly result: Extract<HandlerResult, { ok: false }>) {
    super(result.reason);
  }
}

export class InboundMessages {
  constructor(
    private readonly models: Models,
    private readonly audit: AuditRecorder,
    private readonly handlers: InboundHandlers,
    private readonly options: InboundOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** The answer to one frame, encoded as the message was. */
  async handle(frame: Buffer, peer: string): Promise<Buffer> {
    const read = readMessage(frame, this.options.fallbackCharset);
    try {
      const answer = await this.process(read, peer);
      return encodeText(answer.toString(), read.charset);
    } catch (error) {
      this.log.error({ err: { type: (error as Error).name, message: (error as Error).message }, peer }, 'hl7 message not processed');
      const ack = acknowledgement(
        { message: read.message, header: read.header },
        { code: 'AE', errorCode: '207', reason: 'internal error; send again later' },
        this.options.responder,
      );
      return encodeText(ack.toString(), read.charset);
    }
  }

  private async process(read: ReturnType<typeof readMessage>, peer: string): Promise<Hl7Message> {
    const sequelize = this.models.Hl7Message.sequelize!;
    if (!read.ok) {
      return this.store(
        peer,
        this.answer(read.message, read.header, { code: 'AR', errorCode: read.errorCode, reason: read.reason }, read),
        null,
      );
    }
    const { message, header } = read;
    const dedupKey = `in|${header.sendingApplication}|${header.sendingFacility}|${header.controlId}`.slice(0, 400);
    const earlier = await this.storedAnswer(dedupKey);
    if (earlier) return this.repeat(earlier, read, peer);
    const handler = this.handlers[messageTypeOf(header)];
    if (!handler) {
      const known = Object.keys(this.handlers).some((type) => type.startsWith(`${header.messageCode}^`));
      const content: AckContent = known
        ? { code: 'AR', errorCode: '201', reason: `event '${header.triggerEvent}' of ${header.messageCode} is not supported` }
        : { code: 'AR', errorCode: '200', reason: `message type '${header.messageCode}' is not supported` };
      return this.store(peer, this.answer(message, header, content, read), dedupKey);
    }
    try {
      return await sequelize.transaction(async (transaction) => {
        const result = await handler.apply(message, header, transaction);
        if (!result.ok) throw new Refused(result);
        const stored = this.answer(message, header, { code: 'AA' }, read);
        await this.insert(peer, stored, dedupKey, transaction);
        await this.audit.record(
          {
            eventId: handler.eventId,
            action: 'U',
            outcome: 0,
            objectType: 'HL7Message',
            objectId: messageTypeOf(header),
            patientId: result.patientId,
            studyUid: result.studyUid,
            networkAddress: peer,
            details: { controlId: header.controlId, sendingApplication: header.sendingApplication, ...result.details },
          },
          transaction,
        );
        return stored.ack;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintError) {
        // The same message on two connections at once: the other one stored it first.
        const winner = await this.storedAnswer(dedupKey);
        if (winner) return this.repeat(winner, read, peer);
      }
      if (!(error instanceof Refused)) throw error;
      const { errorCode, reason } = error.result;
      return this.store(
        peer,
        this.answer(message, header, { code: 'AE', errorCode, reason }, read),
        dedupKey,
        handler.eventId,
        error.result.patientId,
      );
    }
  }

  private answer(
    message: Hl7Message | null,
    header: Partial<MessageHeader>,
    ackContent: AckContent,
    read: { text: string; charset: string },
  ): Stored {
    const outcome: Hl7Outcome = ackContent.code === 'AA' ? 'accepted' : ackContent.code === 'AE' ? 'error' : 'rejected';
    return {
      outcome,
      ack: acknowledgement({ message, header }, ackContent, this.options.responder),
      ackContent,
      header,
      text: read.text,
      charset: read.charset,
    };
  }

  /** The answer stored for a message already received under this key, parsed; null when none was. */
  private async storedAnswer(dedupKey: string): Promise<Hl7Message | null> {
    const row = await this.models.Hl7Message.findOne({ where: { dedupKey }, attributes: ['ack'], raw: true });
    return row ? Hl7Message.parse(row.ack) : null;
  }

  /** A repeat: stored as such, audited, answered exactly as the first time. */
  private async repeat(ack: Hl7Message, read: Extract<ReturnType<typeof readMessage>, { ok: true }>, peer: string): Promise<Hl7Message> {
    const { header } = read;
    await this.models.Hl7Message.sequelize!.transaction(async (transaction) => {
      await this.insert(
        peer,
        { outcome: 'duplicate', ack, ackContent: { code: 'AA' }, header, text: read.text, charset: read.charset },
        `repeat|${randomUUID()}`,
        transaction,
      );
      await this.audit.record(
        {
          eventId: 'Import',
          action: 'R',
          outcome: 0,
          objectType: 'HL7Message',
          objectId: messageTypeOf(header),
          networkAddress: peer,
          details: { controlId: header.controlId, sendingApplication: header.sendingApplication, repeat: true },
        },
        transaction,
      );
    });
    return ack;
  }

  /** A refused message: stored with its answer and audited as a failure; nothing else changes. */
  private async store(
    peer: string,
    stored: Stored,
    dedupKey: string | null,
    eventId: AuditEventId = 'Import',
    patientId?: string,
  ): Promise<Hl7Message> {
    const key = dedupKey ?? `unread|${randomUUID()}`;
    try {
      await this.models.Hl7Message.sequelize!.transaction(async (transaction) => {
        await this.insert(peer, stored, key, transaction);
        await this.audit.record(
          {
            eventId,
            action: 'U',
            outcome: 4,
            objectType: 'HL7Message',
            objectId: messageTypeOf(stored.header) || undefined,
            patientId,
            networkAddress: peer,
            details: {
              controlId: stored.header.controlId ?? '',
              sendingApplication: stored.header.sendingApplication ?? '',
              ack: stored.ackContent.code,
              errorCode: stored.ackContent.errorCode,
              reason: stored.ackContent.reason,
            },
          },
          transaction,
        );
      });
    } catch (error) {
      if (!(error instanceof UniqueConstraintError) || dedupKey === null) throw error;
      const winner = await this.storedAnswer(dedupKey);
      if (winner) return winner;
      throw error;
    }
    return stored.ack;
  }

  private async insert(peer: string, stored: Stored, dedupKey: string, transaction: Transaction): Promise<void> {
    const { header } = stored;
    await this.models.Hl7Message.create(
      {
        direction: 'in',
        dedupKey,
        controlId: (header.controlId ?? '').slice(0, 64),
        sendingApplication: (header.sendingApplication ?? '').slice(0, 180),
        sendingFacility: (header.sendingFacility ?? '').slice(0, 180),
        messageType: messageTypeOf(header).slice(0, 20),
        peerAddress: peer.slice(0, 64),
        charset: stored.charset.slice(0, 32),
        // As received, but for NUL, which no database column type holds (PostgreSQL refuses it).
        text: stored.text.replaceAll('\u0000', '\ufffd'),
        outcome: stored.outcome,
        ackCode: stored.ackContent.code,
        ackText: (stored.ackContent.reason ?? '').slice(0, 400),
        ack: stored.ack.toString(),
        receivedAt: new Date(),
      },
      { transaction },
    );
  }
}
