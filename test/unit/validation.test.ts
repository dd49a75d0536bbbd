import { findInvalidText, invalidTextError, isValidText } from '../../src/services/validation';

describe('valid text (the rule for every string a client sends)', () => {
  it('refuses NUL and unpaired surrogates, accepts everything else, surrogate pairs included', () => {
    for (const s of ['', 'plain', 'Größe 42 – 👟', '\ud83d\udc5f', '\u202e', '\uffff', 'tab\tnew\nline']) expect(isValidText(s)).toBe(true);
    for (const s of ['\u0000', 'a\u0000', '\ud800', 'a\ud800b', '\udc00', 'x\udfff', '\udc5f\ud83d', '\ud83d\ud83d\udc5f\ud83d']) expect(isValidText(s)).toBe(false);
  });

  it('names the first invalid string in a payload, values and keys alike', () => {
    expect(findInvalidText({ productId: 'p', variant: { size: '9', color: 'red' }, quantity: 2 })).toBeUndefined();
    expect(findInvalidText({ productId: 'p', variant: { size: '9', color: 'red\u0000' } })).toBe('variant.color');
    expect(findInvalidText([{ a: 'ok' }, { b: ['x', '\ud800'] }])).toBe('1.b.1');
    expect(findInvalidText(JSON.parse('{"__proto__": {"k\\u0000": 1}}'))).toBe('__proto__.(key)');
    expect(findInvalidText('\u0000')).toBe('');
    expect(invalidTextError({ s: 'a\u0000' }, 'variables')).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/^Invalid variables\.s: /) });
    expect(invalidTextError(null, 'payload')).toBeNull();
  });

  it('walks a payload nested deeper than the call stack allows', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}"\\u0000"${']'.repeat(100_000)}`);
    expect(findInvalidText(deep)).toMatch(/^(0\.){99999}0$/);
  });
});
