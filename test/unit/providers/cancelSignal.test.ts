import { describe, expect, it } from 'vitest';
import { ClientGone, onCancel, toAbortSignal } from '../../../src/providers/cancelSignal.js';
import { abortableSleep } from '../../../src/providers/retryPolicy.js';

describe('ClientGone (the proxy\'s cancellation signal)', () => {
  it('aborts once, with a reason, and tells every listener once', () => {
    const gone = new ClientGone();
    let calls = 0;
    onCancel(gone, () => calls++);
    gone.abort();
    gone.abort();
    expect(gone.aborted).toBe(true);
    expect(gone.reason).toBeInstanceOf(Error);
    expect(calls).toBe(1);
  });

  it('lets a listener be removed, for ClientGone and AbortSignal alike', () => {
    const gone = new ClientGone();
    const controller = new AbortController();
    let calls = 0;
    onCancel(gone, () => calls++)();
    onCancel(controller.signal, () => calls++)();
    gone.abort();
    controller.abort();
    expect(calls).toBe(0);
    expect(gone.listenerCount('abort')).toBe(0);
  });

  it('bridges to a standard AbortSignal, before or after the abort', () => {
    const early = new ClientGone();
    early.abort('gone early');
    expect(toAbortSignal(early).aborted).toBe(true);
    const late = new ClientGone();
    const signal = toAbortSignal(late);
    expect(signal.aborted).toBe(false);
    late.abort('gone late');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('gone late');
    const standard = new AbortController().signal;
    expect(toAbortSignal(standard)).toBe(standard);
  });

  it('cuts a retry wait short', async () => {
    const gone = new ClientGone();
    const started = Date.now();
    const wait = abortableSleep(10_000, gone);
    setTimeout(() => gone.abort('client left'), 10);
    await expect(wait).rejects.toBe('client left');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(gone.listenerCount('abort')).toBe(0);
  });
});
