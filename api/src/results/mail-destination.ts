/**
 * E-mail through the hospital's SMTP server (nodemailer), as one more destination of the outbox:
 * notifications get the outbox's retries, ordering per patient, dead letters and admin resend. The
 * row's text is the mail as JSON; an SMTP 5xx answer is permanent, anything else is retried.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { OutboxAttributes } from '../db/order-models';
import type { Delivery, Destination } from './destinations';

/** The outbox's name for e-mail; the colon keeps it apart from any HL7 destination's name. */
export const MAIL_DESTINATION = 'mail:smtp';
export const MAIL_MESSAGE_TYPE = 'EMAIL';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
}

export function isOutgoingMail(value: unknown): value is OutgoingMail {
  const mail = value as OutgoingMail;
  return (
    typeof mail === 'object' &&
    mail !== null &&
    typeof mail.to === 'string' &&
    typeof mail.subject === 'string' &&
    typeof mail.text === 'string'
  );
}

export class MailDestination implements Destination {
  readonly name = MAIL_DESTINATION;
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;

  constructor(
    smtpUrl: string,
    private readonly from: string,
    options: { requireTls: boolean; timeoutMs: number },
  ) {
    this.transport = nodemailer.createTransport({
      url: smtpUrl,
      requireTLS: options.requireTls,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    } as SMTPTransport.Options);
  }

  async deliver(row: OutboxAttributes): Promise<Delivery> {
    let mail: unknown;
    try {
      mail = JSON.parse(row.text);
    } catch {
      mail = null;
    }
    if (!isOutgoingMail(mail)) return { ok: false, ackCode: '', error: 'not a mail', permanent: true };
    try {
      const info = await this.transport.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text });
      if ((info.accepted ?? []).length === 0) return { ok: false, ackCode: '', error: 'the server accepted no recipient', permanent: true };
      return { ok: true, ackCode: 'OK' };
    } catch (error) {
      const smtp = error as Error & { responseCode?: number };
      const permanent = typeof smtp.responseCode === 'number' && smtp.responseCode >= 500;
      return { ok: false, ackCode: '', error: (smtp.message || 'mail failed').slice(0, 400), permanent };
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
