import pino from 'pino';
import { every } from '../../src/lib/every';

const quiet = () => {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('every', () => {
  it('runs the task ms after the previous run ended, never two at once', async () => {
    const { logger } = quiet();
    let active = 0;
    let most = 0;
    let runs = 0;
    const loop = every(5, async () => {
      most = Math.max(most, ++active);
      await sleep(20);
      active--;
      runs++;
    }, { what: 'slow task', logger });
    await sleep(120);
    await loop.stop();
    expect(most).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(5);
  });

  it('logs a failing run under its name and keeps going', async () => {
    const { logger, lines } = quiet();
    let runs = 0;
    const loop = every(5, () => {
      runs++;
      throw new Error('boom');
    }, { what: 'flaky task', logger, level: 'warn' });
    await sleep(60);
    await loop.stop();
    expect(runs).toBeGreaterThan(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'flaky task failed' });
  });

  it('stop() waits for the run under way, and nothing runs after it', async () => {
    const { logger } = quiet();
    let finished = false;
    let runs = 0;
    const loop = every(1, async () => {
      runs++;
      await sleep(30);
      finished = true;
    }, { what: 'task', logger, immediately: true });
    await sleep(5);
    await loop.stop();
    expect(finished).toBe(true);
    await sleep(20);
    expect(runs).toBe(1);
  });

  it('with immediately, runs at once and first settles when that run ended', async () => {
    const { logger } = quiet();
    let runs = 0;
    const loop = every(10_000, async () => {
      await sleep(5);
      runs++;
    }, { what: 'task', logger, immediately: true });
    await loop.first;
    expect(runs).toBe(1);
    await loop.stop();
  });
});
