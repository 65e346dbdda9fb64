import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_PASSWORDS, loadConfig } from '../src/config';

const STRONG_SECRET = 'q8Vf3LrT0pXw9Zk2Hs7Bn4Mc6Jd1Ga5Ye';
const production = {
  PACS_ENV: 'production',
  PACS_JWT_SECRET: STRONG_SECRET,
  PACS_ADMIN_PASSWORD: 'a-real-admin-password',
  PACS_METRICS_TOKEN: 'metrics-token-0123456789',
  PACS_SYNC_SERVICE_TOKEN: 'Zq7Xw2Lk9Pm4Rt6Yb1Nc8Vd3Hf5Gj0Ss',
  PACS_DOCUMENT_TOKEN_SECRET: 'Kd8Wq3Ze5Rx1Tn7Yu2Io9Pa4Sf6Gh0Jl',
  PACS_MFA_SECRET_KEY: 'Mq4Xv8Bn2Lk6Jh0Gf3Ds7Ap1Zc5Wx9Er',
  PACS_REPORT_SIGNING_KEY_FILE: '/etc/pacs/report-signing.pem',
};

describe('configuration from the environment', () => {
  it('has working development defaults: SQLite under the data dir, cost-12 bcrypt, generated secret', () => {
    const config = loadConfig({ PACS_DATA_DIR: '/srv/pacs-data' });
    expect(config.databaseUrl).toBe('sqlite:/srv/pacs-data/pacs.sqlite');
    expect(config.bcryptCost).toBeGreaterThanOrEqual(12);
    expect(config.jwtSecretGenerated).toBe(true);
    expect(config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.port).toBe(3000);
    expect(config.cookieSecure).toBe(false);
  });

  it('converts numbers and booleans and reads lists', () => {
    const config = loadConfig({
      PACS_API_PORT: '4100',
      PACS_TRUST_PROXY: 'true',
      PACS_CORS_ORIGINS: 'https://a.example, https://b.example',
    });
    expect(config.port).toBe(4100);
    expect(config.trustProxy).toBe('loopback,uniquelocal');
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it.each(['10.0.0.0/33', 'proxy.example', '127.0.0.1/8/1', 'loopback,::1/129'])(
    'stops start-up on a trusted-proxy list entry the sync-server would refuse too (%s)',
    (list) => {
      expect(() => loadConfig({ PACS_TRUST_PROXY: 'true', PACS_TRUSTED_PROXIES: list })).toThrow(/PACS_TRUSTED_PROXIES/);
    },
  );

  it.each(['RIS', 'RIS@host', 'RIS@host:0', 'RIS@host:70000', '@host:2575', 'R IS@host:2575', 'RIS@host:2575;rm'])(
    'stops start-up on a result destination that is not NAME@host:port (%s)',
    (entry) => {
      expect(() => loadConfig({ PACS_HL7_RESULT_DESTINATIONS: `EMR@emr.example:6661,${entry}` })).toThrow(/PACS_HL7_RESULT_DESTINATIONS/);
    },
  );

  it('reads result destinations, IPv6 in brackets included', () => {
    const config = loadConfig({ PACS_HL7_RESULT_DESTINATIONS: 'RIS@10.1.2.3:2576, EMR@[::1]:6661' });
    expect(config.hl7.results.destinations).toEqual([
      { name: 'RIS', host: '10.1.2.3', port: 2576 },
      { name: 'EMR', host: '::1', port: 6661 },
    ]);
  });

  it.each([
    ['PACS_API_PORT', 'eighty'],
    ['PACS_API_PORT', '70000'],
    ['PACS_BCRYPT_COST', '10'],
    ['DATABASE_URL', 'mysql://db/pacs'],
    ['PACS_ENV', 'staging'],
    ['PACS_JWT_SECRET', 'short'],
  ])('stops start-up on a bad %s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('in production requires a strong JWT secret, an admin password that is not the default, and a metrics token', () => {
    expect(loadConfig(production).production).toBe(true);
    expect(loadConfig(production).cookieSecure).toBe(true);
    expect(loadConfig(production).seedDemoUsers).toBe(false);
    expect(() => loadConfig({ ...production, PACS_JWT_SECRET: '' })).toThrow(/PACS_JWT_SECRET/);
    expect(() => loadConfig({ ...production, PACS_JWT_SECRET: 'a'.repeat(40) })).toThrow(/too weak/);
    expect(() => loadConfig({ ...production, PACS_ADMIN_PASSWORD: '' })).toThrow(/PACS_ADMIN_PASSWORD/);
    expect(() => loadConfig({ ...production, PACS_MFA_SECRET_KEY: '' })).toThrow(/PACS_MFA_SECRET_KEY: required in production/);
    expect(() => loadConfig({ ...production, PACS_REPORT_SIGNING_KEY_FILE: undefined })).toThrow(
      /PACS_REPORT_SIGNING_KEY_FILE: required in production/,
    );
    expect(() => loadConfig({ ...production, PACS_MFA_SECRET_KEY: 'x'.repeat(40) })).toThrow(/too weak/);
    expect(() => loadConfig({ ...production, PACS_MFA_REQUIRED_ROLES: 'admin,nurse' })).toThrow(/'nurse' is not a role/);
    expect(() => loadConfig({ ...production, PACS_ADMIN_PASSWORD: DEV_PASSWORDS.admin })).toThrow(/development default/);
    expect(() => loadConfig({ ...production, PACS_METRICS_TOKEN: '' })).toThrow(/PACS_METRICS_TOKEN/);
    expect(() => loadConfig({ ...production, PACS_SYNC_SERVICE_TOKEN: '' })).toThrow(/PACS_SYNC_SERVICE_TOKEN/);
    expect(() => loadConfig({ ...production, PACS_DOCUMENT_TOKEN_SECRET: 'x'.repeat(40) })).toThrow(/too weak/);
    expect(() => loadConfig({ ...production, PACS_SYNC_SERVICE_TOKEN: '' })).toThrow(/PACS_SYNC_SERVICE_TOKEN/);
    expect(() => loadConfig({ ...production, PACS_DOCUMENT_TOKEN_SECRET: 'x'.repeat(40) })).toThrow(/too weak/);
  });
});
