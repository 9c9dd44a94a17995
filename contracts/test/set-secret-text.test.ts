// What setSecret keeps of the text it is given, through the real SDK (which JSON-escapes an unpaired
// surrogate as \udXXX). Key Vault keeps secrets as UTF-8 octets, which cannot represent an unpaired
// UTF-16 surrogate: the emulator refuses such text with 400 BadParameter (emulator/src/http/text.ts).
// Against a real vault this asserts the invariant either way: the text is refused with 400, or it reads
// back exactly as written; a vault that changes it fails here.
import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, onEmulator, uniqueName } from '../support/target.js';

describe('setSecret text', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('round-trips astral characters (surrogate pairs) and other well-formed text exactly', async () => {
    const name = track(uniqueName('text'));
    const value = 'p\u{1F511}ss \u00e9\u4e2d\uFFFD\uFEFF';
    const set = await kv.setSecret(name, value, { contentType: 'text/\u{1F600}', tags: { '\u{1F600}': 'v\u{1F600}' } });
    expect(set.value).toBe(value);
    const read = await kv.getSecret(name);
    expect(read.value).toBe(value);
    expect(read.properties.contentType).toBe('text/\u{1F600}');
    expect(read.properties.tags).toEqual({ '\u{1F600}': 'v\u{1F600}' });
  });

  it('never reads back an unpaired surrogate changed: in value, contentType or tags', async () => {
    const cases: Array<[string, Parameters<typeof kv.setSecret>[2]]> = [
      ['a\ud800b', {}],
      ['v', { contentType: 'text/\udc00' }],
      ['v', { tags: { t: 'x\ud83d' } }],
    ];
    for (const [value, options] of cases) {
      const name = track(uniqueName('lone'));
      let refused: { statusCode?: number; code?: string } | undefined;
      try {
        await kv.setSecret(name, value, options);
      } catch (error) {
        // A RestError: the service answered (anything else, a network failure, is thrown on).
        if (typeof (error as { statusCode?: unknown }).statusCode !== 'number') throw error;
        refused = error as { statusCode: number; code?: string };
      }
      if (refused) {
        expect(refused.statusCode).toBe(400);
        expect(refused.code).toBe('BadParameter');
        continue;
      }
      // Only a vault that keeps such text exactly may accept it; the emulator never does.
      expect(onEmulator, 'the emulator refuses unpaired surrogates').toBe(false);
      const read = await kv.getSecret(name);
      expect(read.value).toBe(value);
      expect(read.properties.contentType).toBe(options?.contentType);
      expect(read.properties.tags).toEqual(options?.tags);
    }
  });
});
