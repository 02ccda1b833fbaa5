// The tunables and limits a function reads from its TRANSFER_* environment (src/transfer/settings.ts):
// a value set but unusable is a named configuration error, never replaced by the default in silence.
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/transfer/errors.ts';
import { DEFAULT_SETTINGS, settingsFromEnv, TUNABLE_VARIABLES } from '../../src/transfer/settings.ts';

describe('settingsFromEnv', () => {
  it('reads the deployment\'s largest object, in bytes (the maxFileSize parameter)', () => {
    expect(settingsFromEnv({ TRANSFER_MAX_FILE_SIZE: '5000000000' })).toEqual({ maxFileSize: 5_000_000_000 });
    expect(settingsFromEnv({ TRANSFER_MAX_FILE_SIZE: ' 1000 ' })).toEqual({ maxFileSize: 1000 });
    // Unset or empty (a parameter left blank): the default.
    expect(settingsFromEnv({})).toEqual({});
    expect(settingsFromEnv({ TRANSFER_MAX_FILE_SIZE: '' })).toEqual({});
  });

  it.each(['5GB', '5 GB', '0', '1.5', '-1', '5e9', '0x10', 'abc', ' ', '9007199254740993'])(
    'refuses TRANSFER_MAX_FILE_SIZE=%j, naming the variable, the parameter, the value and what a good one looks like',
    (value) => {
      const read = () => settingsFromEnv({ TRANSFER_MAX_FILE_SIZE: value });
      expect(read).toThrow(ConfigurationError);
      expect(read).toThrow(
        `TRANSFER_MAX_FILE_SIZE (the maxFileSize parameter) must be a whole number of bytes above 0, in digits only, such as ${DEFAULT_SETTINGS.maxFileSize} (the default when it is not set); got ${JSON.stringify(value)}`,
      );
    },
  );

  it('refuses a malformed value of every tunable, saying what it counts; a good one is read', () => {
    expect(TUNABLE_VARIABLES.length).toBeGreaterThan(10);
    for (const name of TUNABLE_VARIABLES) {
      expect(Object.values(settingsFromEnv({ [name]: '7' })), name).toEqual([7]);
      let error: unknown;
      try {
        settingsFromEnv({ [name]: '8MiB' });
      } catch (err) {
        error = err;
      }
      expect(error, name).toBeInstanceOf(ConfigurationError);
      expect((error as Error).name).toBe('Transfer.ConfigurationError');
      expect((error as Error).message, name).toMatch(new RegExp(`^${name} (\\(the \\w+ parameter\\) )?must be a whole number .*(above 0|\\(0: none\\)).*; got "8MiB"$`));
      const counts = /_BYTES_PER_SECOND$/.test(name)
        ? 'bytes per second'
        : /_(BYTES|SIZE)$/.test(name)
          ? 'bytes'
          : /_MS$/.test(name)
            ? 'milliseconds'
            : /_SECONDS$/.test(name)
              ? 'seconds'
              : undefined;
      if (counts !== undefined) expect((error as Error).message, name).toMatch(new RegExp(`whole number of ${counts} (above 0|\\(0: none\\))`));
      else expect((error as Error).message, name).toMatch(/must be a whole number (above 0|\(0: none\))/);
      // 0 only where it means none (no part read ahead); elsewhere it is refused, never the default.
      if (name === 'TRANSFER_PARTS_READ_AHEAD') expect(settingsFromEnv({ [name]: '0' })).toEqual({ partsReadAhead: 0 });
      else expect(() => settingsFromEnv({ [name]: '0' }), name).toThrow(/above 0.*got "0"$/);
    }
  });

  it('takes TRANSFER_PARTS_READ_AHEAD=0 (no part read ahead), and refuses a negative or a size there', () => {
    expect(settingsFromEnv({ TRANSFER_PARTS_READ_AHEAD: '0' })).toEqual({ partsReadAhead: 0 });
    expect(settingsFromEnv({ TRANSFER_PARTS_READ_AHEAD: '2' })).toEqual({ partsReadAhead: 2 });
    expect(() => settingsFromEnv({ TRANSFER_PARTS_READ_AHEAD: '-1' })).toThrow(
      'TRANSFER_PARTS_READ_AHEAD must be a whole number (0: none), in digits only, such as 1 (the default when it is not set); got "-1"',
    );
  });

  it('names the wrong variable among good ones', () => {
    expect(() => settingsFromEnv({ TRANSFER_DEFAULT_CONCURRENCY: '16', TRANSFER_PARTS_IN_FLIGHT: '8MiB' })).toThrow(/^TRANSFER_PARTS_IN_FLIGHT must be a whole number above 0, in digits only, such as 4 \(the default when it is not set\); got "8MiB"$/);
    expect(() => settingsFromEnv({ TRANSFER_MAX_BATCH_BYTES: '2GiB' })).toThrow(/^TRANSFER_MAX_BATCH_BYTES must be a whole number of bytes above 0.*got "2GiB"$/);
  });
});
