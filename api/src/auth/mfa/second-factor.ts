/**
 * The second factor of a local account over the database: TOTP (RFC 6238, otplib) enrolment and
 * verification, where a code is accepted once (the last time step is kept and compared in the
 * update itself); recovery codes, shown once, kept hashed, each used once; devices remembered for
 * a while after a second factor, by a random cookie token whose hash is kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '@pacs/shared';
import { generateSecret, generateURI, verifySync } from 'otplib';
import { Op, type Transaction } from 'sequelize';
import type { Models, UserAttributes } from '../../db/models';
import { conflict } from '../../http-errors';
import type { SecretBox } from '../secret-box';
import type { MfaConfig } from './settings';

const RECOVERY_CODES = 10;
/** One 30-second step either side of now: clocks a little off still work. */
const EPOCH_TOLERANCE_SECONDS = 30;

/** The TOTP result's time step (otplib types the result as TOTP's or HOTP's). */
const timeStepOf = (result: object) => (result as { timeStep: number }).timeStep;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
/** Recovery codes are typed by people: case, spaces and dashes do not matter. */
const normalRecoveryCode = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');

function newRecoveryCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(10);
  const chars = [...bytes].map((byte) => alphabet[byte % alphabet.length]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

type MfaUser = Pick<UserAttributes, 'id' | 'email' | 'role' | 'mfaSecret' | 'mfaEnabledAt' | 'mfaLastTimeStep'>;

export class SecondFactor {
  constructor(
    private readonly models: Models,
    private readonly box: SecretBox,
    private readonly config: MfaConfig,
    private readonly issuer = 'PACS',
  ) {}

  requiredFor(role: Role): boolean {
    return this.config.requiredRoles.includes(role);
  }

  /** Whether logging in needs a second step: a factor in force, or one the role must have. */
  due(user: MfaUser): 'verify' | 'enrol' | null {
    if (user.mfaEnabledAt) return 'verify';
    return this.requiredFor(user.role) ? 'enrol' : null;
  }

  /** A new secret, pending until a code from it is confirmed. Refused while one is in force. */
  async beginEnrolment(user: MfaUser): Promise<{ secret: string; uri: string }> {
    if (user.mfaEnabledAt) throw conflict('a second factor is already in force; an administrator can reset it', 'MFA_ALREADY_ENABLED');
    const secret = generateSecret();
    await this.models.User.update(
      { mfaSecret: this.box.seal(secret), mfaLastTimeStep: null },
      { where: { id: user.id, mfaEnabledAt: null } },
    );
    return { secret, uri: generateURI({ issuer: this.issuer, label: user.email, secret }) };
  }

  /** The pending secret confirmed by a code from it: the factor is in force; answers the recovery codes (shown once). */
  async confirmEnrolment(user: MfaUser, code: string, transaction: Transaction): Promise<string[] | null> {
    if (user.mfaEnabledAt) throw conflict('a second factor is already in force', 'MFA_ALREADY_ENABLED');
    const secret = user.mfaSecret ? this.box.open(user.mfaSecret) : null;
    if (!secret) throw conflict('start the enrolment first', 'MFA_NOT_ENROLLING');
    const result = verifySync({ secret, token: code, epochTolerance: EPOCH_TOLERANCE_SECONDS });
    if (!result.valid) return null;
    const [enabled] = await this.models.User.update(
      { mfaEnabledAt: new Date(), mfaLastTimeStep: timeStepOf(result) },
      { where: { id: user.id, mfaEnabledAt: null, mfaSecret: user.mfaSecret }, transaction },
    );
    if (enabled !== 1) throw conflict('the enrolment changed meanwhile; start again', 'MFA_NOT_ENROLLING');
    return this.replaceRecoveryCodes(user.id, transaction);
  }

  /** A code from the user's app, accepted once: its time step must be later than the last one accepted. */
  async verifyCode(user: MfaUser, code: string): Promise<boolean> {
    const secret = user.mfaEnabledAt && user.mfaSecret ? this.box.open(user.mfaSecret) : null;
    if (!secret) return false;
    const result = verifySync({
      secret,
      token: code,
      epochTolerance: EPOCH_TOLERANCE_SECONDS,
      ...(user.mfaLastTimeStep !== null ? { afterTimeStep: user.mfaLastTimeStep } : {}),
    });
    if (!result.valid) return false;
    // Two requests with the same code at once: only one moves the step forward.
    const step = timeStepOf(result);
    const [accepted] = await this.models.User.update(
      { mfaLastTimeStep: step },
      { where: { id: user.id, [Op.or]: [{ mfaLastTimeStep: null }, { mfaLastTimeStep: { [Op.lt]: step } }] } },
    );
    return accepted === 1;
  }

  /** A recovery code, each usable once. */
  async useRecoveryCode(user: MfaUser, code: string): Promise<boolean> {
    if (!user.mfaEnabledAt) return false;
    const [used] = await this.models.MfaRecoveryCode.update(
      { usedAt: new Date() },
      { where: { userId: user.id, codeHash: sha256(normalRecoveryCode(code)), usedAt: null } },
    );
    return used === 1;
  }

  recoveryCodesLeft(userId: string): Promise<number> {
    return this.models.MfaRecoveryCode.count({ where: { userId, usedAt: null } });
  }

  private async replaceRecoveryCodes(userId: string, transaction: Transaction): Promise<string[]> {
    await this.models.MfaRecoveryCode.destroy({ where: { userId }, transaction });
    const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
    await this.models.MfaRecoveryCode.bulkCreate(
      codes.map((code) => ({ userId, codeHash: sha256(normalRecoveryCode(code)) })),
      { transaction },
    );
    return codes;
  }

  /** A device that may skip the second factor for `rememberDays`: the cookie value, or null when the setting is 0. */
  async rememberDevice(userId: string, userAgent: string): Promise<{ token: string; expiresAt: Date } | null> {
    if (this.config.rememberDays === 0) return null;
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.config.rememberDays * 86_400_000);
    await this.models.MfaDevice.create({ userId, tokenHash: sha256(token), userAgent: userAgent.slice(0, 200), expiresAt });
    return { token, expiresAt };
  }

  async isRememberedDevice(userId: string, token: string | undefined): Promise<boolean> {
    if (!token || this.config.rememberDays === 0) return false;
    const device = await this.models.MfaDevice.findOne({
      where: { tokenHash: sha256(token), userId, expiresAt: { [Op.gt]: new Date() } },
      raw: true,
    });
    return device !== null;
  }

  /** Off: secret, recovery codes and remembered devices gone (an admin's reset, or the user's own choice). */
  async remove(userId: string, transaction: Transaction): Promise<void> {
    await this.models.User.update({ mfaSecret: null, mfaEnabledAt: null, mfaLastTimeStep: null }, { where: { id: userId }, transaction });
    await this.models.MfaRecoveryCode.destroy({ where: { userId }, transaction });
    await this.models.MfaDevice.destroy({ where: { userId }, transaction });
  }
}
