/** Settings from the environment, read alike by both services: converted, defaulted, or refused by name. */
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { assertStrongSecret, ConfigError, readEnvironment } from '../src/config';

const SCHEMA = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 1234 }),
  VERBOSE: Type.Boolean({ default: false }),
  NAME: Type.Optional(Type.String({ minLength: 3 })),
});

describe('readEnvironment', () => {
  it('converts strings, fills defaults, treats an empty value as unset and ignores other variables', () => {
    expect(readEnvironment(SCHEMA, { PORT: '8080', VERBOSE: 'true', NAME: '', OTHER: 'x' })).toEqual({ PORT: 8080, VERBOSE: true });
    expect(readEnvironment(SCHEMA, {})).toEqual({ PORT: 1234, VERBOSE: false });
  });

  it('refuses bad values with one error naming every bad variable', () => {
    const read = () => readEnvironment(SCHEMA, { PORT: '70000', NAME: 'ab' });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/PORT: .*\n\s+NAME: /s);
  });
});

describe('assertStrongSecret', () => {
  it('refuses placeholders and short alphabets, naming the variable, and accepts a random secret', () => {
    for (const weak of ['changeme', 'secretsecret', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'abababababababababababababababab']) {
      expect(() => assertStrongSecret('PACS_X', weak), weak).toThrow(/^PACS_X: too weak/);
    }
    expect(() => assertStrongSecret('PACS_X', 'q8V2r7KfZp1xLm4NwT9sBc6HdJ3yGe0A')).not.toThrow();
  });
});
