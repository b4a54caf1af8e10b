import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

describe('the logger option', () => {
  it('builds a synchronous pino logger by default, so the last lines before exit are not lost', () => {
    const logger = createLogger(true);
    const stream = (logger as unknown as Record<symbol, { sync?: boolean }>)[pino.symbols.streamSym];
    expect(stream?.sync).toBe(true);
    expect(logger.level).toBe('info');
  });

  it('is silent with false, takes pino options, and uses a given logger as it is', () => {
    expect(createLogger(false).level).toBe('silent');
    expect(createLogger({ level: 'debug' }).level).toBe('debug');
    const given = pino({ level: 'warn' });
    expect(createLogger(given)).toBe(given);
  });
});
